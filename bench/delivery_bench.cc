// Delivery benchmark: webhookd end to end — Publish (commit) through gRPC,
// the dispatcher, CurlSender, a local receiver — next to two ceilings
// measured in the same run against the same receiver:
//   A: wrk alone (wrk -s post.lua, the same body and headers);
//   B: a bare libcurl multi loop (bench/curl_ceiling.cc);
//   C: the product's CurlSender alone.
// Plus commit→receipt latency at fixed offered rates (and as deliveries
// accumulate in one database), and peak RSS with a large backlog pending.
// Each run prints where the dispatcher thread's time went. See
// bench/README.md ("Delivery").
//
//   delivery_bench --modes=ceilings,ours,latency --schemes=http,https
//                  --subs_per_event=1,10,1000 --repetitions=3
//   delivery_bench --modes=memory --pending=1000000
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "bench/curl_ceiling.h"
#include "bench/gate_sender.h"
#include "bench/http_receiver.h"
#include "bench/observed_store.h"
#include "bench/stats.h"
#include "common/clock.h"
#include "common/huge_pages.h"
#include "common/random.h"
#include "common/strings.h"
#include "delivery/curl_sender.h"
#include "grpcpp/grpcpp.h"
#include "server/application.h"
#include "server/config_loader.h"
#include "storage/rocksdb_store.h"
#include "tests/test_certificates.h"
#include "webhooks/v1/event.grpc.pb.h"
#include "webhooks/v1/subscription.grpc.pb.h"

extern char** environ;

ABSL_FLAG(std::string, modes, "ceilings,ours,latency",
          "Any of: ceilings (wrk and the bare libcurl loop), ours (webhookd "
          "at saturation with publishers running), drain (webhookd emptying "
          "a committed backlog, no publishing), latency (commit to receipt "
          "at fixed rates), aging (latency on one database as deliveries "
          "accumulate), memory (peak RSS with --pending deliveries "
          "pending; run it alone, the peak is the process's).");
ABSL_FLAG(std::string, schemes, "http,https", "http and/or https.");
ABSL_FLAG(std::string, controls, "plain",
          "ours/drain: `plain`, `limited` and/or `ordered` subscriptions "
          "(limited: a rate limit, burst and in-flight cap far above what is "
          "reached; ordered: ordering on, keyed by each event's own id: what "
          "the machinery costs when nothing waits).");
ABSL_FLAG(std::string, subs_per_event, "1,10,1000",
          "Subscriptions (distinct URLs) each event matches.");
ABSL_FLAG(double, duration_s, 5, "Measured seconds per throughput run.");
ABSL_FLAG(double, warmup_s, 1, "Unmeasured seconds before each run.");
ABSL_FLAG(int, repetitions, 3, "Runs of each case; the median is reported.");
ABSL_FLAG(int, concurrency, 32,
          "The sender's per-destination cap (max_per_destination), and "
          "the connections of wrk and of the libcurl loop.");
ABSL_FLAG(int, max_in_flight, 512, "The sender's global cap.");
ABSL_FLAG(int, receiver_threads, 1, "Event loops of the receiver.");
ABSL_FLAG(int, receiver_status, 204, "What the receiver answers: 200 or 204.");
ABSL_FLAG(std::string, wrk, "wrk", "The wrk binary.");
ABSL_FLAG(int, wrk_threads, 1, "wrk -t.");
ABSL_FLAG(int, publishers, 4, "Publishing threads for ours and drain.");
ABSL_FLAG(int64_t, backlog, 20000,
          "ours: publishers keep about this many deliveries committed and "
          "not yet received, so the delivery side never runs dry.");
ABSL_FLAG(int64_t, drain_deliveries, 60000,
          "drain: deliveries committed (gate closed) before the clock starts.");
ABSL_FLAG(std::string, rates, "100,1000,10000", "latency: events/s offered.");
ABSL_FLAG(std::string, latency_schemes, "http", "latency: schemes.");
ABSL_FLAG(double, latency_duration_s, 5, "latency: seconds per run...");
ABSL_FLAG(int64_t, latency_min_events, 1000,
          "...or longer, until this many events are offered.");
ABSL_FLAG(int, latency_publishers, 48,
          "latency: concurrent Publish calls at most.");
ABSL_FLAG(int64_t, pending, 1000000, "memory: deliveries to have pending.");
ABSL_FLAG(int, memory_subs_per_event, 1000,
          "memory: subscriptions per event (deliveries per Publish).");
ABSL_FLAG(bool, memory_drain, false,
          "memory: then deliver the whole backlog, sampling RSS, and report "
          "the drain rate.");
ABSL_FLAG(std::string, dir, "",
          "Parent of the temporary directory (database, CA, wrk script); "
          "default $TMPDIR or /tmp. Removed at exit.");
ABSL_FLAG(bool, fresh_store, true,
          "Start each run (ours, drain, latency) on a new, empty database: "
          "figures then do not depend on what earlier runs left behind "
          "(see the aging mode for that).");
ABSL_FLAG(std::string, aging_steps, "0,100000,300000",
          "aging: latency at --aging_rate after this many deliveries in all "
          "have gone through the same database.");
ABSL_FLAG(int64_t, aging_rate, 100, "aging: events/s offered.");
ABSL_FLAG(bool, profile, true,
          "Print where the dispatcher thread spends its time per delivery.");

namespace webhooks::bench {
namespace {

std::vector<std::string> Split(const std::string& list) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    out.emplace_back(part);
  }
  return out;
}

std::vector<int64_t> ParseInts(const std::string& list) {
  std::vector<int64_t> out;
  for (const std::string& part : Split(list)) {
    int64_t n = 0;
    if (absl::SimpleAtoi(part, &n) && n > 0) out.push_back(n);
  }
  return out;
}

bool Has(const std::string& list, std::string_view item) {
  for (const std::string& part : Split(list)) {
    if (part == item) return true;
  }
  return false;
}

void SleepFor(double seconds) {
  if (seconds > 0) {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  }
}

int Fail(std::string_view what, const absl::Status& status) {
  std::fprintf(stderr, "delivery_bench: %.*s: %s\n",
               static_cast<int>(what.size()), what.data(),
               status.ToString().c_str());
  return 1;
}

// What the scheduler knows of one thread of this process: seconds on a
// CPU and seconds runnable but waiting for one (/proc/.../schedstat).
struct ThreadTimes {
  double cpu = 0;
  double waiting = 0;
  ThreadTimes operator-(const ThreadTimes& o) const {
    return {cpu - o.cpu, waiting - o.waiting};
  }
  ThreadTimes operator+(const ThreadTimes& o) const {
    return {cpu + o.cpu, waiting + o.waiting};
  }
};

ThreadTimes ThreadSched(int tid) {
  if (tid == 0) return {};
  std::ifstream in(StrCat("/proc/self/task/", tid, "/schedstat"));
  uint64_t cpu_ns = 0, wait_ns = 0;
  in >> cpu_ns >> wait_ns;
  return {static_cast<double>(cpu_ns) / 1e9, static_cast<double>(wait_ns) / 1e9};
}

ThreadTimes ThreadsSched(const std::vector<int>& tids) {
  ThreadTimes sum;
  for (int tid : tids) sum = sum + ThreadSched(tid);
  return sum;
}

// "0.35 cores (+0.20 waiting for a CPU), 60.4 us CPU per delivery"
std::string Use(const ThreadTimes& t, double n, double seconds) {
  char text[160];
  std::snprintf(text, sizeof(text),
                "%.2f cores (+%.2f waiting for a CPU), %.1f us CPU each",
                t.cpu / seconds, t.waiting / seconds, n > 0 ? t.cpu * 1e6 / n : 0);
  return text;
}

// A field of /proc/self/status in bytes ("VmHWM", "VmRSS").
size_t StatusBytes(std::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(std::string(field) + ":", 0) == 0) {
      std::istringstream value(line.substr(field.size() + 1));
      size_t kb = 0;
      value >> kb;
      return kb << 10;
    }
  }
  return 0;
}

std::string Mib(size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.0f MiB",
                static_cast<double>(bytes) / (1 << 20));
  return text;
}

// The ~200-byte JSON body of event `seq`; the receiver finds "seq" in it.
std::string EventBody(int64_t seq) {
  std::string body = StrCat(R"({"type":"employee","event":"added","seq":)", seq,
                            R"(,"id":"emp-)", seq,
                            R"(","name":"Ada Lovelace","title":"engineer",)"
                            R"("pad":""})");
  if (body.size() < 200) body.insert(body.size() - 2, 200 - body.size(), '.');
  return body;
}

int64_t ParseSeq(std::string_view body) {
  const size_t at = body.find("\"seq\":");
  if (at == std::string_view::npos) return -1;
  int64_t seq = -1;
  const char* begin = body.data() + at + 6;
  std::from_chars(begin, body.data() + body.size(), seq);
  return seq;
}

// What the receivers saw: counts are theirs; this adds the first request
// (headers and body, to give wrk and the libcurl loop the same ones) and
// arrival times by seq for latency runs.
class Recorder {
 public:
  void OnRequest(const Received& r) {
    if (!captured_.load(std::memory_order_relaxed)) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!captured_.load()) {
        head_ = std::string(r.head);
        body_ = std::string(r.body);
        captured_.store(true);
      }
    }
    std::atomic<double>* arrivals = arrivals_.load(std::memory_order_acquire);
    if (arrivals != nullptr) {
      const int64_t seq = ParseSeq(r.body);
      if (seq >= 0 && seq < arrivals_size_.load(std::memory_order_relaxed)) {
        double expected = 0;
        arrivals[seq].compare_exchange_strong(expected, r.arrival,
                                              std::memory_order_relaxed);
      }
    }
  }

  bool captured() const { return captured_.load(); }
  std::pair<std::string, std::string> capture() {
    std::lock_guard<std::mutex> lock(mu_);
    return {head_, body_};
  }

  // Starts recording arrivals of seqs [0, n).
  std::atomic<double>* StartArrivals(int64_t n) {
    auto* a = new std::atomic<double>[static_cast<size_t>(n)];
    for (int64_t i = 0; i < n; ++i) a[i].store(0, std::memory_order_relaxed);
    arrivals_size_.store(n);
    arrivals_.store(a, std::memory_order_release);
    return a;
  }
  // Stops recording; the caller deletes the array after the receivers went
  // quiet (they are, once every request has arrived).
  void StopArrivals() {
    arrivals_.store(nullptr, std::memory_order_release);
    arrivals_size_.store(0);
  }

 private:
  std::mutex mu_;
  std::atomic<bool> captured_{false};
  std::string head_, body_;
  std::atomic<std::atomic<double>*> arrivals_{nullptr};
  std::atomic<int64_t> arrivals_size_{0};
};

// Everything a run needs.
struct Bench {
  std::filesystem::path dir;
  std::unique_ptr<e2e::TestCertificates> ca;  // for https runs
  Recorder recorder;
  std::map<std::string, std::unique_ptr<HttpReceiver>> receivers;  // scheme
  ObservedStore* store = nullptr;
  GateSender* gate = nullptr;
  server::ApplicationPtr app;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::atomic<int64_t> next_seq{0};
  std::atomic<int64_t> created{0};  // deliveries committed, all runs
  std::map<std::string, std::vector<std::string>> urls;  // site -> targets
  int generation = 0;         // database directories made so far
  std::filesystem::path db;   // the current one

  std::vector<int> receiver_tids() const {
    std::vector<int> tids;
    for (const auto& [scheme, r] : receivers) {
      for (int tid : r->thread_ids()) tids.push_back(tid);
    }
    return tids;
  }
  HttpReceiver* receiver(const std::string& scheme) {
    return receivers.at(scheme).get();
  }
  int64_t received() const {
    int64_t n = 0;
    for (const auto& [scheme, r] : receivers) n += r->requests();
    return n;
  }
  std::shared_ptr<grpc::Channel> channel(int i) {
    return channels[static_cast<size_t>(i) % channels.size()];
  }

  // The runs' subscriptions: "plain", "limited" or "ordered" (--controls).
  static inline std::string control = "plain";

  static std::string Site(const std::string& scheme, int64_t k) {
    return control == "plain" ? StrCat("/bench/", scheme, "/k", k)
                              : StrCat("/bench/", control, "/", scheme, "/k", k);
  }

  // K subscriptions with distinct URLs at Site(scheme, k), made once.
  absl::Status EnsureSubscriptions(const std::string& scheme, int64_t k) {
    const std::string site = Site(scheme, k);
    if (urls.contains(site)) return absl::OkStatus();
    auto stub = v1::SubscriptionService::NewStub(channel(0));
    std::vector<std::string>& targets = urls[site];
    const double start = Now();
    for (int64_t i = 0; i < k; ++i) {
      v1::CreateSubscriptionRequest request;
      v1::Subscription* s = request.mutable_subscription();
      s->set_site(site);
      s->set_resource_type("*");
      s->set_event_type("*");
      s->set_target_url(StrCat(receiver(scheme)->base_url(), "/", scheme, "/k",
                               k, "/", i));
      if (control == "limited") {
        v1::DeliveryControl* c = s->mutable_delivery();
        c->mutable_rate_limit()->set_per_second(100000);
        c->mutable_rate_limit()->set_burst(100000);
        c->set_max_in_flight(10000);
      } else if (control == "ordered") {
        // Every event its own ordering key: the whole machinery runs
        // (numbering in the commit, key from the payload, index written and
        // removed, head read before sending) and nothing waits.
        s->mutable_delivery()->mutable_ordering()->set_enabled(true);
        s->mutable_delivery()->mutable_ordering()->set_key_path("id");
      }
      v1::Subscription created_sub;
      grpc::ClientContext context;
      grpc::Status status = stub->CreateSubscription(&context, request,
                                                     &created_sub);
      if (!status.ok()) {
        return absl::InternalError(
            StrCat("CreateSubscription: ", status.error_message()));
      }
      targets.push_back(s->target_url());
    }
    std::printf("setup: %lld subscriptions at %s in %.1f s\n",
                static_cast<long long>(k), site.c_str(), Now() - start);
    return absl::OkStatus();
  }

  // Waits until every delivery committed so far has its outcome on disk.
  bool Settle(double timeout_s) {
    const double deadline = Now() + timeout_s;
    while (Now() < deadline) {
      if (store->durable_outcomes() >= created.load() && gate->held() == 0) {
        return true;
      }
      SleepFor(0.01);
    }
    std::printf("  WARNING: not settled after %.0f s: %lld committed, %lld "
                "outcomes durable, %lld received\n",
                timeout_s, static_cast<long long>(created.load()),
                static_cast<long long>(store->durable_outcomes()),
                static_cast<long long>(received()));
    return false;
  }
};

// Starts webhookd in-process over a new RocksDB store in a new directory,
// with a new CurlSender behind a GateSender; drops what the last one knew.
// The product's sender as every run here configures it: --max_in_flight,
// --concurrency per destination, http allowed, loopback reachable, and the
// run's test CA for https.
delivery::CurlSenderOptions SenderOptions(const Bench& bench) {
  delivery::CurlSenderOptions options;
  options.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  options.max_per_destination = absl::GetFlag(FLAGS_concurrency);
  options.allow_http = true;
  options.allowed_cidrs = {"127.0.0.1/32"};
  if (bench.ca != nullptr) options.ca_bundle = bench.ca->ca_file();
  return options;
}

absl::Status StartApp(Bench& bench) {
  static SystemClock clock;
  static SecureRandom random;
  const std::filesystem::path db =
      bench.dir / StrCat("db", bench.generation++);
  auto opened = storage::RocksDbStore::Open({.path = db.string()});
  if (!opened.ok()) return opened.status();
  auto observed = std::make_unique<ObservedStore>(*std::move(opened));
  const delivery::CurlSenderOptions sender_options = SenderOptions(bench);
  auto curl_sender = delivery::CurlSender::Create(sender_options);
  if (!curl_sender.ok()) return curl_sender.status();
  auto gate = std::make_unique<GateSender>(*std::move(curl_sender));

  v1::ServerConfig config;
  config.set_listen_address("127.0.0.1:0");
  config.set_allow_http_targets(true);
  config.mutable_delivery()->set_max_in_flight(sender_options.max_in_flight);
  config.mutable_delivery()->set_max_per_destination(
      sender_options.max_per_destination);
  config.mutable_delivery()->add_allowed_cidrs("127.0.0.1/32");
  if (bench.ca != nullptr) {
    config.mutable_delivery()->set_ca_bundle(bench.ca->ca_file());
  }
  if (absl::Status s = server::FinalizeConfig(config); !s.ok()) return s;
  ObservedStore* store = observed.get();
  GateSender* gate_ptr = gate.get();
  auto app = server::Application::Start(config, std::move(observed),
                                        std::move(gate), &clock, &random);
  if (!app.ok()) return app.status();
  bench.app = *std::move(app);
  bench.store = store;
  bench.gate = gate_ptr;
  bench.db = db;
  bench.created.store(0);
  bench.urls.clear();
  bench.channels.clear();
  for (int i = 0; i < 4; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // own connection
    bench.channels.push_back(grpc::CreateCustomChannel(
        StrCat("127.0.0.1:", bench.app->port()),
        grpc::InsecureChannelCredentials(), args));
  }
  return absl::OkStatus();
}

void StopApp(Bench& bench) {
  if (bench.app == nullptr) return;
  bench.channels.clear();
  bench.app->Shutdown(absl::Seconds(1));
  bench.app.reset();
  bench.store = nullptr;
  bench.gate = nullptr;
  std::error_code error;
  std::filesystem::remove_all(bench.db, error);
}

// A fresh service (unless --fresh_store=false) with K subscriptions for
// the scheme.
absl::Status Prepare(Bench& bench, const std::string& scheme, int64_t k) {
  if (absl::GetFlag(FLAGS_fresh_store) && bench.app != nullptr) {
    StopApp(bench);
    if (absl::Status s = StartApp(bench); !s.ok()) return s;
  }
  return bench.EnsureSubscriptions(scheme, k);
}

// Publishes events at a site through gRPC.
class Publisher {
 public:
  explicit Publisher(std::shared_ptr<grpc::Channel> channel)
      : stub_(v1::EventService::NewStub(std::move(channel))) {}

  // Publishes `count` events with seqs [first, first + count); returns the
  // deliveries created.
  absl::StatusOr<int64_t> Publish(const std::string& site, int64_t first,
                                  int count) {
    v1::PublishRequest request;
    for (int i = 0; i < count; ++i) {
      v1::Event* e = request.add_events();
      e->set_id(StrCat("e", first + i));
      e->set_site(site);
      e->add_resource_types("employee");
      e->add_event_types("added");
      v1::Representation& r = (*e->mutable_representations())["webhook-delivery"];
      r.set_body(EventBody(first + i));
      r.set_content_type("application/json");
    }
    v1::PublishResponse response;
    grpc::ClientContext context;
    grpc::Status status = stub_->Publish(&context, request, &response);
    if (!status.ok()) {
      return absl::InternalError(StrCat("Publish: ", status.error_message()));
    }
    return response.deliveries_created();
  }

 private:
  std::unique_ptr<v1::EventService::Stub> stub_;
};

// ---------------------------------------------------------------------------
// Ceilings.

// A Lua string literal (long brackets) for wrk.
std::string LuaString(std::string_view s) {
  std::string level = "=";
  while (s.find("]" + level + "]") != std::string_view::npos) level += "=";
  return StrCat("[", level, "[", s, "]", level, "]");
}

// "Name: value" lines of a captured request head, without the request
// line, Host and Content-Length.
std::vector<std::pair<std::string, std::string>> HeaderPairs(
    std::string_view head) {
  std::vector<std::pair<std::string, std::string>> out;
  bool first = true;
  for (absl::string_view line : absl::StrSplit(AsAbsl(head), "\r\n")) {
    if (first) {
      first = false;
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    std::string name(line.substr(0, colon));
    std::string value(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    std::string lower = absl::AsciiStrToLower(name);
    if (lower == "host" || lower == "content-length") continue;
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

struct RunFigures {
  double rate = 0;  // receiver-side requests/s in the window
  double other = 0; // a second rate (wrk's own, durable outcomes/s)
  CpuUse cpu;
  std::string note;
};

RunFigures RunWrk(Bench& bench, const std::string& scheme,
                  const std::string& script, const std::string& url) {
  const double warmup = absl::GetFlag(FLAGS_warmup_s);
  const double duration = absl::GetFlag(FLAGS_duration_s);
  const int seconds = static_cast<int>(std::ceil(warmup + duration + 1));
  const std::string out_file = (bench.dir / "wrk.out").string();
  std::vector<std::string> args = {
      absl::GetFlag(FLAGS_wrk),
      StrCat("-t", absl::GetFlag(FLAGS_wrk_threads)),
      StrCat("-c", absl::GetFlag(FLAGS_concurrency)),
      StrCat("-d", seconds, "s"),
      "-s",
      script,
      url};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  RunFigures f;
  HttpReceiver* receiver = bench.receiver(scheme);
  if (posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ) !=
      0) {
    f.note = "cannot run wrk (apt-get install -y wrk)";
    posix_spawn_file_actions_destroy(&actions);
    return f;
  }
  posix_spawn_file_actions_destroy(&actions);
  SleepFor(warmup);
  CpuSampler cpu;
  const ThreadTimes v0 = ThreadsSched(receiver->thread_ids());
  const int64_t r0 = receiver->requests();
  const double t0 = Now();
  SleepFor(duration);
  const int64_t r1 = receiver->requests();
  const double t1 = Now();
  const ThreadTimes v1 = ThreadsSched(receiver->thread_ids());
  f.cpu = cpu.Stop();
  f.note = StrCat("\n    threads: receiver ",
                  Use(v1 - v0, static_cast<double>(r1 - r0), t1 - t0));
  int status = 0;
  waitpid(pid, &status, 0);
  f.rate = static_cast<double>(r1 - r0) / (t1 - t0);
  std::ifstream in(out_file);
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "Requests/sec:")) {
      double v = 0;
      if (absl::SimpleAtod(absl::StripAsciiWhitespace(
                               absl::string_view(line).substr(13)),
                           &v)) {
        f.other = v;
      }
    }
    if (absl::StrContains(line, "Non-2xx") ||
        absl::StrContains(line, "Socket errors")) {
      f.note += StrCat(" wrk: ", line);
    }
  }
  return f;
}

// One measured window of a load that is already running against
// `receiver`: --warmup_s, then --duration_s of requests received, the CPU
// of the thread `tid` names (read at each end: it may be learnt late) and
// of the receiver's threads, and the process's CPU.
struct Window {
  double rate = 0;      // requests received per second
  double requests = 0;  // in the window
  double seconds = 0;
  ThreadTimes loop, receiver;
  CpuUse cpu;
};

Window MeasureWindow(HttpReceiver* receiver, const std::atomic<int>& tid) {
  SleepFor(absl::GetFlag(FLAGS_warmup_s));
  CpuSampler cpu;
  const ThreadTimes l0 = ThreadSched(tid.load());
  const ThreadTimes v0 = ThreadsSched(receiver->thread_ids());
  const int64_t r0 = receiver->requests();
  const double t0 = Now();
  SleepFor(absl::GetFlag(FLAGS_duration_s));
  const int64_t r1 = receiver->requests();
  const double t1 = Now();
  Window w;
  w.loop = ThreadSched(tid.load()) - l0;
  w.receiver = ThreadsSched(receiver->thread_ids()) - v0;
  w.cpu = cpu.Stop();
  w.requests = static_cast<double>(r1 - r0);
  w.seconds = t1 - t0;
  w.rate = w.requests / w.seconds;
  return w;
}

RunFigures RunCurlCeiling(Bench& bench, const std::string& scheme,
                          const CurlLoopOptions& options) {
  std::atomic<bool> stop{false};
  std::atomic<int> tid{0};
  CurlLoopResult result;
  std::thread loop([&] {
    tid.store(static_cast<int>(syscall(SYS_gettid)));
    result = RunCurlLoop(options, stop);
  });
  const Window w = MeasureWindow(bench.receiver(scheme), tid);
  RunFigures f;
  f.cpu = w.cpu;
  stop.store(true);
  loop.join();
  f.rate = w.rate;
  f.note = StrCat("\n    threads: libcurl loop ",
                  Use(w.loop, w.requests, w.seconds), "; receiver ",
                  Use(w.receiver, w.requests, w.seconds));
  if (result.failed > 0) {
    f.note += StrCat("; ", result.failed, " failed: ", result.first_error);
  }
  return f;
}

// The product's CurlSender alone (ceiling C): the captured request sent
// again and again with up to --max_in_flight outstanding, as the dispatcher
// would keep it fed; no queue, storage or rendering.
RunFigures RunSenderCeiling(Bench& bench, const std::string& scheme,
                            const core::HttpRequest& request) {
  const delivery::CurlSenderOptions options = SenderOptions(bench);
  auto created = delivery::CurlSender::Create(options);
  RunFigures f;
  if (!created.ok()) {
    f.note = created.status().ToString();
    return f;
  }
  std::unique_ptr<delivery::CurlSender> sender = *std::move(created);
  const int window = options.max_in_flight;
  absl::Mutex mu;
  int outstanding = 0;
  int64_t failed = 0;
  std::atomic<int> tid{0};
  std::atomic<bool> stop{false};
  std::thread feeder([&] {
    while (!stop.load()) {
      {
        absl::MutexLock lock(&mu);
        auto room = [&] { return outstanding < window || stop.load(); };
        mu.Await(absl::Condition(&room));
        if (stop.load()) break;
        ++outstanding;
      }
      sender->Send(request, [&](core::HttpResult result) {
        if (tid.load(std::memory_order_relaxed) == 0) {
          tid.store(static_cast<int>(syscall(SYS_gettid)));
        }
        absl::MutexLock lock(&mu);
        --outstanding;
        if ((result.outcome != core::HttpResult::Outcome::kResponse ||
             result.status_code >= 300) &&
            !stop.load()) {  // not cut off by the Shutdown below
          ++failed;
        }
      });
    }
  });
  const Window w = MeasureWindow(bench.receiver(scheme), tid);
  f.cpu = w.cpu;
  {
    absl::MutexLock lock(&mu);
    stop.store(true);
  }
  feeder.join();
  sender->Shutdown(absl::Seconds(5));
  f.rate = w.rate;
  f.note = StrCat("\n    threads: curl ", Use(w.loop, w.requests, w.seconds),
                  "; receiver ", Use(w.receiver, w.requests, w.seconds));
  if (failed > 0) f.note += StrCat("; ", failed, " failed");
  return f;
}

// ---------------------------------------------------------------------------
// Ours.

// Where the dispatcher thread's time went in a window, per delivery.
struct ThreadSnap {
  ThreadTimes fetcher, dispatcher, sender, receiver;
  ThreadSnap operator-(const ThreadSnap& o) const {
    return {fetcher - o.fetcher, dispatcher - o.dispatcher, sender - o.sender,
            receiver - o.receiver};
  }
};

ThreadSnap Snap(Bench& bench) {
  return {ThreadSched(bench.store->fetcher_tid()),
          ThreadSched(bench.store->dispatcher_tid()),
          ThreadSched(bench.gate->callback_tid()),
          ThreadsSched(bench.receiver_tids())};
}

std::string Profile(const ObservedStore::Figures& d, int64_t deliveries,
                    const ThreadSnap& threads, double seconds) {
  if (deliveries <= 0) return "";
  const double n = static_cast<double>(deliveries);
  auto us = [n](const ObservedStore::Calls& c) {
    return static_cast<double>(c.nanos) / 1000.0 / n;
  };
  auto per = [n](const ObservedStore::Calls& c) {
    return static_cast<double>(c.count) / n;
  };
  using storage::Column;
  const auto& deliveries_get = d.gets[static_cast<int>(Column::kDeliveries)];
  const auto& subs_get = d.gets[static_cast<int>(Column::kSubscriptions)];
  const auto& events_get = d.gets[static_cast<int>(Column::kTransactionEvents)];
  ObservedStore::Calls other_gets;
  for (int i = 0; i < storage::kColumnCount; ++i) {
    if (i == static_cast<int>(Column::kDeliveries) ||
        i == static_cast<int>(Column::kSubscriptions) ||
        i == static_cast<int>(Column::kTransactionEvents)) {
      continue;
    }
    other_gets.count += d.gets[i].count;
    other_gets.nanos += d.gets[i].nanos;
  }
  const auto& queue_scan = d.scans[static_cast<int>(Column::kDeliveryQueue)];
  const double store_us = us(deliveries_get) + us(subs_get) + us(events_get) +
                          us(other_gets) + us(queue_scan) +
                          us(d.outcome_writes) + us(d.other_writes);
  char text[2000];
  std::snprintf(
      text, sizeof(text),
      "    threads: dispatcher fetch %s; dispatcher write %s; curl %s; "
      "receiver %s\n"
      "    dispatcher wall time in the store per delivery: %.1f us = queue "
      "scan %.1f (%.3f scans of %.2f ms) + Get delivery %.1f (%.2f) + Get subscription "
      "%.1f (%.2f) + Get event %.1f (%.2f) + other Gets %.1f (%.2f) + outcome "
      "writes %.1f + other writes %.1f (%.3f)\n"
      "    synced outcome writes: %.0f/s, %.1f outcomes and %.0f ops each, "
      "%.2f ms each\n",
      Use(threads.fetcher, n, seconds).c_str(),
      Use(threads.dispatcher, n, seconds).c_str(),
      Use(threads.sender, n, seconds).c_str(),
      Use(threads.receiver, n, seconds).c_str(), store_us, us(queue_scan),
      per(queue_scan),
      queue_scan.count ? static_cast<double>(queue_scan.nanos) / 1e6 /
                             static_cast<double>(queue_scan.count)
                       : 0,
      us(deliveries_get), per(deliveries_get), us(subs_get),
      per(subs_get), us(events_get), per(events_get), us(other_gets),
      per(other_gets), us(d.outcome_writes), us(d.other_writes),
      per(d.other_writes),
      static_cast<double>(d.outcome_writes.count) / seconds,
      d.outcome_writes.count ? n / static_cast<double>(d.outcome_writes.count)
                             : 0,
      d.outcome_writes.count
          ? static_cast<double>(d.outcome_write_ops) /
                static_cast<double>(d.outcome_writes.count)
          : 0,
      d.outcome_writes.count ? static_cast<double>(d.outcome_writes.nanos) /
                                   1e6 /
                                   static_cast<double>(d.outcome_writes.count)
                             : 0);
  return text;
}

int EventsPerPublish(int64_t k) {
  return static_cast<int>(std::max<int64_t>(1, (100 + k - 1) / k));
}

// Publishers keep about --backlog deliveries committed and not yet
// received; the receiver's count over the window is the rate.
RunFigures RunOurs(Bench& bench, const std::string& scheme, int64_t k,
                   std::string* profile) {
  const std::string site = Bench::Site(scheme, k);
  const int per_publish = EventsPerPublish(k);
  const int64_t backlog = absl::GetFlag(FLAGS_backlog);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < absl::GetFlag(FLAGS_publishers); ++t) {
    threads.emplace_back([&, t] {
      Publisher publisher(bench.channel(t));
      while (!stop.load()) {
        if (bench.created.load() - bench.store->durable_outcomes() > backlog) {
          SleepFor(0.0005);
          continue;
        }
        const int64_t first = bench.next_seq.fetch_add(per_publish);
        absl::StatusOr<int64_t> n = publisher.Publish(site, first, per_publish);
        if (!n.ok()) {
          if (errors++ == 0) std::fprintf(stderr, "%s\n", n.status().ToString().c_str());
          SleepFor(0.01);
          continue;
        }
        bench.created.fetch_add(*n);
      }
    });
  }
  HttpReceiver* receiver = bench.receiver(scheme);
  // Warm up, and fill the backlog before the clock starts (at most 30 s).
  const double warm_start = Now();
  SleepFor(absl::GetFlag(FLAGS_warmup_s));
  while (bench.created.load() - bench.store->durable_outcomes() <
             backlog * 9 / 10 &&
         Now() - warm_start < 30) {
    SleepFor(0.01);
  }
  CpuSampler cpu;
  const ObservedStore::Figures f0 = bench.store->figures();
  const ThreadSnap th0 = Snap(bench);
  const int64_t c0 = bench.created.load();
  const int64_t r0 = receiver->requests();
  const double t0 = Now();
  SleepFor(absl::GetFlag(FLAGS_duration_s));
  const int64_t r1 = receiver->requests();
  const double t1 = Now();
  const int64_t c1 = bench.created.load();
  const ObservedStore::Figures f1 = bench.store->figures();
  const ThreadSnap th1 = Snap(bench);
  RunFigures f;
  f.cpu = cpu.Stop();
  stop.store(true);
  for (std::thread& t : threads) t.join();
  const ObservedStore::Figures d = f1 - f0;
  f.rate = static_cast<double>(r1 - r0) / (t1 - t0);
  f.other = static_cast<double>(d.durable_outcomes) / (t1 - t0);
  f.note = StrCat("committed ",
                  static_cast<int64_t>(static_cast<double>(c1 - c0) / (t1 - t0)),
                  "/s");
  if (errors > 0) f.note += StrCat(", ", errors.load(), " publish errors");
  if (!bench.Settle(120)) f.note += ", NOT SETTLED";
  if (profile != nullptr && absl::GetFlag(FLAGS_profile)) {
    *profile = Profile(d, r1 - r0, th1 - th0, t1 - t0);
  }
  return f;
}

// Commits --drain_deliveries with the gate closed, then opens it: the rate
// is deliveries over the time until the last outcome is durable.
RunFigures RunDrain(Bench& bench, const std::string& scheme, int64_t k,
                    std::string* profile) {
  const std::string site = Bench::Site(scheme, k);
  const int per_publish = EventsPerPublish(k);
  const int64_t target = absl::GetFlag(FLAGS_drain_deliveries);
  bench.gate->Close();
  const int64_t base = bench.created.load();
  std::vector<std::thread> threads;
  for (int t = 0; t < absl::GetFlag(FLAGS_publishers); ++t) {
    threads.emplace_back([&, t] {
      Publisher publisher(bench.channel(t));
      while (bench.created.load() - base < target) {
        const int64_t first = bench.next_seq.fetch_add(per_publish);
        absl::StatusOr<int64_t> n = publisher.Publish(site, first, per_publish);
        if (n.ok()) bench.created.fetch_add(*n);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const int64_t total = bench.created.load() - base;
  // Let the dispatcher lease what it can.
  for (int i = 0; i < 100 && bench.gate->held() < std::min<int64_t>(total, 2048);
       ++i) {
    SleepFor(0.01);
  }
  RunFigures f;
  HttpReceiver* receiver = bench.receiver(scheme);
  CpuSampler cpu;
  const ObservedStore::Figures f0 = bench.store->figures();
  const ThreadSnap th0 = Snap(bench);
  const int64_t r0 = receiver->requests();
  const double t0 = Now();
  bench.gate->Open();
  const bool settled = bench.Settle(300);
  const double t1 = Now();
  const int64_t r1 = receiver->requests();
  const ObservedStore::Figures f1 = bench.store->figures();
  const ThreadSnap th1 = Snap(bench);
  f.cpu = cpu.Stop();
  const ObservedStore::Figures d = f1 - f0;
  f.rate = static_cast<double>(d.durable_outcomes) / (t1 - t0);
  f.other = static_cast<double>(r1 - r0) / (t1 - t0);
  f.note = StrCat(total, " deliveries");
  if (!settled) f.note += ", NOT SETTLED";
  if (profile != nullptr && absl::GetFlag(FLAGS_profile)) {
    *profile = Profile(d, d.durable_outcomes, th1 - th0, t1 - t0);
  }
  return f;
}

// ---------------------------------------------------------------------------
// Latency.

struct LatencyFigures {
  double offered = 0;  // events/s actually published
  int64_t events = 0, missing = 0, early = 0;
  double p50 = 0, p99 = 0, p999 = 0, max = 0;  // ms
  double commit_p50 = 0, commit_p99 = 0;       // ms, the Publish call
  double max_lag = 0;                          // ms behind schedule
  CpuUse cpu;
  std::string profile;
};

LatencyFigures RunLatency(Bench& bench, const std::string& scheme,
                          int64_t rate) {
  const std::string site = Bench::Site(scheme, 1);
  // Ticks of 1 ms (or one event each, below 1,000/s).
  const double tick = rate >= 1000 ? 0.001 : 1.0 / static_cast<double>(rate);
  const int per_tick =
      static_cast<int>(std::llround(static_cast<double>(rate) * tick));
  const double duration =
      std::max(absl::GetFlag(FLAGS_latency_duration_s),
               static_cast<double>(absl::GetFlag(FLAGS_latency_min_events)) /
                   static_cast<double>(rate));
  const int64_t ticks = static_cast<int64_t>(duration / tick);
  const int64_t n = ticks * per_tick;
  std::vector<double> committed(static_cast<size_t>(n), 0);
  std::vector<double> publish_ms(static_cast<size_t>(ticks), 0);
  std::atomic<double>* arrivals = bench.recorder.StartArrivals(n);
  std::atomic<int64_t> next_tick{0};
  std::atomic<int64_t> published{0};
  std::vector<double> lags(
      static_cast<size_t>(absl::GetFlag(FLAGS_latency_publishers)), 0);
  HttpReceiver* receiver = bench.receiver(scheme);
  const int64_t r0 = receiver->requests();
  const double start = Now() + 0.05;
  CpuSampler cpu;
  const ObservedStore::Figures f0 = bench.store->figures();
  const ThreadSnap th0 = Snap(bench);
  std::vector<std::thread> threads;
  for (int t = 0; t < absl::GetFlag(FLAGS_latency_publishers); ++t) {
    threads.emplace_back([&, t] {
      Publisher publisher(bench.channel(t));
      while (true) {
        const int64_t i = next_tick.fetch_add(1);
        if (i >= ticks) return;
        const double due = start + static_cast<double>(i) * tick;
        const double wait = due - Now();
        if (wait > 0) SleepFor(wait);
        lags[static_cast<size_t>(t)] =
            std::max(lags[static_cast<size_t>(t)], Now() - due);
        // The seq in the body indexes the arrays.
        const double t0 = Now();
        absl::StatusOr<int64_t> created =
            publisher.Publish(site, i * per_tick, per_tick);
        const double t1 = Now();
        publish_ms[static_cast<size_t>(i)] = (t1 - t0) * 1000;
        if (!created.ok()) continue;
        bench.created.fetch_add(*created);
        published.fetch_add(per_tick);
        for (int j = 0; j < per_tick; ++j) {
          committed[static_cast<size_t>(i * per_tick + j)] = t1;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double end = Now();
  LatencyFigures f;
  f.cpu = cpu.Stop();
  const ObservedStore::Figures f1 = bench.store->figures();
  const ThreadSnap th1 = Snap(bench);
  f.offered = static_cast<double>(published.load()) / (end - start);
  if (absl::GetFlag(FLAGS_profile)) {
    f.profile = Profile(f1 - f0, published.load(), th1 - th0, end - start);
  }
  // Wait for the stragglers.
  const double deadline = Now() + 30;
  while (receiver->requests() - r0 < published.load() && Now() < deadline) {
    SleepFor(0.01);
  }
  bench.Settle(60);
  bench.recorder.StopArrivals();
  SleepFor(0.05);  // a callback may still hold the array pointer
  std::vector<double> latencies;
  for (int64_t s = 0; s < n; ++s) {
    if (committed[static_cast<size_t>(s)] == 0) continue;
    ++f.events;
    const double a = arrivals[s].load();
    if (a == 0) {
      ++f.missing;
      continue;
    }
    double ms = (a - committed[static_cast<size_t>(s)]) * 1000;
    if (ms < 0) {
      ++f.early;  // arrived before Publish returned to the client
      ms = 0;
    }
    latencies.push_back(ms);
  }
  delete[] arrivals;
  f.p50 = Percentile(latencies, 50);
  f.p99 = Percentile(latencies, 99);
  f.p999 = Percentile(latencies, 99.9);
  f.max = latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
  f.commit_p50 = Percentile(publish_ms, 50);
  f.commit_p99 = Percentile(publish_ms, 99);
  for (double lag : lags) f.max_lag = std::max(f.max_lag, lag * 1000);
  return f;
}

// Latency at --aging_rate on one database as more deliveries have gone
// through it (delivered queue entries leave tombstones behind).
int RunAging(Bench& bench) {
  StopApp(bench);
  if (absl::Status s = StartApp(bench); !s.ok()) return Fail("start", s);
  const std::string scheme = "http";
  for (int64_t k : {int64_t{1}, int64_t{1000}}) {
    if (absl::Status s = bench.EnsureSubscriptions(scheme, k); !s.ok()) {
      return Fail("subscriptions", s);
    }
  }
  const int64_t rate = absl::GetFlag(FLAGS_aging_rate);
  std::printf("\n== aging: latency at %lld events/s (1 subscription each) on "
              "one database after more and more deliveries\n",
              static_cast<long long>(rate));
  const std::string bulk_site = Bench::Site(scheme, 1000);
  std::vector<int64_t> steps;
  for (const std::string& part : Split(absl::GetFlag(FLAGS_aging_steps))) {
    int64_t n = 0;
    if (absl::SimpleAtoi(part, &n) && n >= 0) steps.push_back(n);
  }
  for (int64_t step : steps) {
    const double start = Now();
    if (bench.created.load() < step) {
      std::vector<std::thread> threads;
      for (int t = 0; t < absl::GetFlag(FLAGS_publishers); ++t) {
        threads.emplace_back([&, t] {
          Publisher publisher(bench.channel(t));
          while (bench.created.load() < step) {
            // Stay about --backlog ahead of the deliveries.
            if (bench.created.load() - bench.store->durable_outcomes() >
                absl::GetFlag(FLAGS_backlog)) {
              SleepFor(0.001);
              continue;
            }
            auto n = publisher.Publish(bulk_site, bench.next_seq++, 1);
            if (n.ok()) bench.created.fetch_add(*n);
          }
        });
      }
      for (std::thread& t : threads) t.join();
      if (!bench.Settle(900)) return 1;
    }
    std::printf("  after %lld deliveries in all (%.0f s to deliver them)\n",
                static_cast<long long>(bench.created.load()), Now() - start);
    LatencyFigures f = RunLatency(bench, scheme, rate);
    std::printf("  %lld events at %.0f/s: p50 %.2f p99 %.2f p999 %.2f max %.2f "
                "ms; Publish p50 %.2f p99 %.2f; cpu ours %.2f others %.2f\n%s",
                static_cast<long long>(f.events), f.offered, f.p50, f.p99,
                f.p999, f.max, f.commit_p50, f.commit_p99, f.cpu.ours,
                f.cpu.others, f.profile.c_str());
    std::printf("RESULT aging deliveries=%lld p50=%.2f p99=%.2f p999=%.2f\n",
                static_cast<long long>(step), f.p50, f.p99, f.p999);
    std::fflush(stdout);
  }
  return 0;
}

// ---------------------------------------------------------------------------
// Memory.

int RunMemory(Bench& bench) {
  const int64_t k = absl::GetFlag(FLAGS_memory_subs_per_event);
  const int64_t target = absl::GetFlag(FLAGS_pending);
  const std::string scheme = "http";
  if (absl::Status s = bench.EnsureSubscriptions(scheme, k); !s.ok()) {
    return Fail("subscriptions", s);
  }
  if (!bench.Settle(60)) return 1;
  const std::string site = Bench::Site(scheme, k);
  const int per_publish = EventsPerPublish(k);
  std::printf("\n== memory: %lld deliveries pending (%lld subscriptions per "
              "event, %d event(s) per Publish); the sender holds what the "
              "dispatcher leases\n",
              static_cast<long long>(target), static_cast<long long>(k),
              per_publish);
  const size_t rss_before = StatusBytes("VmRSS");
  const size_t hwm_before = StatusBytes("VmHWM");
  std::printf("  before: RSS %s (peak so far %s)\n", Mib(rss_before).c_str(),
              Mib(hwm_before).c_str());
  bench.gate->Close();
  const int64_t base = bench.created.load();
  std::atomic<bool> done{false};
  std::atomic<size_t> max_rss{rss_before};
  std::thread sampler([&] {
    while (!done.load()) {
      size_t rss = StatusBytes("VmRSS");
      size_t m = max_rss.load();
      while (rss > m && !max_rss.compare_exchange_weak(m, rss)) {
      }
      SleepFor(0.1);
    }
  });
  const double start = Now();
  std::vector<std::thread> threads;
  std::atomic<int64_t> next_report{target / 4};
  for (int t = 0; t < absl::GetFlag(FLAGS_publishers); ++t) {
    threads.emplace_back([&, t] {
      Publisher publisher(bench.channel(t));
      while (bench.created.load() - base < target) {
        const int64_t first = bench.next_seq.fetch_add(per_publish);
        absl::StatusOr<int64_t> n = publisher.Publish(site, first, per_publish);
        if (!n.ok()) {
          SleepFor(0.01);
          continue;
        }
        const int64_t now = bench.created.fetch_add(*n) + *n - base;
        int64_t report = next_report.load();
        if (now >= report &&
            next_report.compare_exchange_strong(report, report + target / 4)) {
          std::printf("  %8lld pending after %5.1f s: RSS %s, peak %s\n",
                      static_cast<long long>(now), Now() - start,
                      Mib(StatusBytes("VmRSS")).c_str(),
                      Mib(StatusBytes("VmHWM")).c_str());
          std::fflush(stdout);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const int64_t pending = bench.created.load() - base;
  std::printf("  committed %lld deliveries in %.1f s (%.0f/s); dispatcher "
              "holds %d leased\n",
              static_cast<long long>(pending), Now() - start,
              static_cast<double>(pending) / (Now() - start), bench.gate->held());
  SleepFor(5);  // let RocksDB flush and compact with the queue full
  std::printf("  %lld pending, 5 s later: RSS %s, peak (VmHWM) %s\n",
              static_cast<long long>(pending), Mib(StatusBytes("VmRSS")).c_str(),
              Mib(StatusBytes("VmHWM")).c_str());
  std::printf("RESULT memory pending=%lld rss_before=%zu rss_now=%zu "
              "peak_rss=%zu vmhwm=%zu\n",
              static_cast<long long>(pending), rss_before,
              StatusBytes("VmRSS"), max_rss.load(), StatusBytes("VmHWM"));
  if (absl::GetFlag(FLAGS_memory_drain)) {
    HttpReceiver* receiver = bench.receiver(scheme);
    const int64_t r0 = receiver->requests();
    const int64_t o0 = bench.store->durable_outcomes();
    const double t0 = Now();
    bench.gate->Open();
    double last = t0;
    while (bench.store->durable_outcomes() < bench.created.load() &&
           Now() - t0 < 900) {
      SleepFor(0.1);
      if (Now() - last >= 10) {
        last = Now();
        std::printf("  draining: %lld delivered after %.0f s, RSS %s\n",
                    static_cast<long long>(receiver->requests() - r0), last - t0,
                    Mib(StatusBytes("VmRSS")).c_str());
        std::fflush(stdout);
      }
    }
    const double t1 = Now();
    std::printf("  drained %lld outcomes in %.1f s (%.0f deliveries/s); "
                "peak RSS while draining %s, VmHWM %s\n",
                static_cast<long long>(bench.store->durable_outcomes() - o0),
                t1 - t0,
                static_cast<double>(bench.store->durable_outcomes() - o0) /
                    (t1 - t0),
                Mib(max_rss.load()).c_str(), Mib(StatusBytes("VmHWM")).c_str());
  }
  done.store(true);
  sampler.join();
  return 0;
}

// ---------------------------------------------------------------------------

struct Rows {
  std::map<std::string, std::vector<RunFigures>> runs;  // key -> reps
  double Median(const std::string& key, bool other = false) const {
    auto it = runs.find(key);
    if (it == runs.end()) return 0;
    std::vector<double> v;
    for (const RunFigures& f : it->second) v.push_back(other ? f.other : f.rate);
    return bench::Median(v);
  }
  double MedianCpu(const std::string& key, bool others) const {
    auto it = runs.find(key);
    if (it == runs.end()) return 0;
    std::vector<double> v;
    for (const RunFigures& f : it->second) {
      v.push_back(others ? f.cpu.others : f.cpu.ours);
    }
    return bench::Median(v);
  }
};

void PrintRun(const char* what, const std::string& scheme, int64_t k, int rep,
              const RunFigures& f, const char* other_name) {
  std::printf("  rep %d %-6s %-5s K=%-4lld %9.0f/s  (%s %.0f/s; cpu ours %.2f "
              "others %.2f)%s%s\n",
              rep, what, scheme.c_str(), static_cast<long long>(k), f.rate,
              other_name, f.other, f.cpu.ours, f.cpu.others,
              f.note.empty() ? "" : " ", f.note.c_str());
  std::fflush(stdout);
}

int Run() {
  const std::string modes = absl::GetFlag(FLAGS_modes);
  const std::vector<std::string> schemes = Split(absl::GetFlag(FLAGS_schemes));
  const std::vector<std::string> controls = Split(absl::GetFlag(FLAGS_controls));
  for (const std::string& control : controls) {
    if (control != "plain" && control != "limited" && control != "ordered") {
      std::fprintf(stderr, "--controls: plain, limited, ordered; not %s\n",
                   control.c_str());
      return 2;
    }
  }
  const std::vector<int64_t> ks = ParseInts(absl::GetFlag(FLAGS_subs_per_event));
  const std::vector<int64_t> rates = ParseInts(absl::GetFlag(FLAGS_rates));
  const std::vector<std::string> latency_schemes =
      Split(absl::GetFlag(FLAGS_latency_schemes));
  const int reps = std::max(1, absl::GetFlag(FLAGS_repetitions));
  std::printf("delivery_bench: %s\n", MachineSummary().c_str());
  std::printf("modes %s; concurrency %d (the sender's per-destination cap, "
              "wrk -c, libcurl handles); receiver threads %d\n",
              modes.c_str(), absl::GetFlag(FLAGS_concurrency),
              absl::GetFlag(FLAGS_receiver_threads));

  Bench bench;
  std::string parent = absl::GetFlag(FLAGS_dir);
  if (parent.empty()) parent = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  std::string dir_template = parent + "/delivery_bench.XXXXXX";
  if (mkdtemp(dir_template.data()) == nullptr) {
    return Fail("mkdtemp", absl::InternalError(dir_template));
  }
  bench.dir = dir_template;
  std::printf("temporary files under %s (removed at exit)\n", bench.dir.c_str());
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() {
      std::error_code error;
      std::filesystem::remove_all(dir, error);
    }
  } cleanup{bench.dir};

  std::vector<std::string> needed = schemes;
  for (const std::string& s : latency_schemes) {
    if (Has(modes, "latency") &&
        std::find(needed.begin(), needed.end(), s) == needed.end()) {
      needed.push_back(s);
    }
  }
  if (std::find(needed.begin(), needed.end(), "http") == needed.end()) {
    needed.push_back("http");  // the capture and memory runs use it
  }
  const bool https = std::find(needed.begin(), needed.end(), "https") !=
                     needed.end();
  if (https) {
    auto ca = e2e::TestCertificates::GenerateIn((bench.dir / "ca").string());
    if (!ca.ok()) return Fail("test CA", ca.status());
    bench.ca = *std::move(ca);
  }
  for (const std::string& scheme : needed) {
    ReceiverOptions options;
    options.threads = absl::GetFlag(FLAGS_receiver_threads);
    options.status = absl::GetFlag(FLAGS_receiver_status);
    if (scheme == "https") {
      options.cert_file = bench.ca->cert_file();
      options.key_file = bench.ca->key_file();
    }
    auto receiver = HttpReceiver::Start(
        options, [&bench](const Received& r) { bench.recorder.OnRequest(r); });
    if (!receiver.ok()) return Fail("receiver", receiver.status());
    bench.receivers[scheme] = *std::move(receiver);
  }

  if (absl::Status st = StartApp(bench); !st.ok()) return Fail("start", st);
  // One delivery through the product, to capture the request it sends.
  if (absl::Status s = bench.EnsureSubscriptions("http", 1); !s.ok()) {
    return Fail("subscriptions", s);
  }
  {
    Publisher publisher(bench.channel(0));
    auto n = publisher.Publish(Bench::Site("http", 1), bench.next_seq++, 1);
    if (!n.ok()) return Fail("publish", n.status());
    bench.created += *n;
    if (!bench.Settle(30) || !bench.recorder.captured()) {
      return Fail("capture", absl::DeadlineExceededError("no delivery arrived"));
    }
  }
  auto [head, body] = bench.recorder.capture();
  const auto headers = HeaderPairs(head);
  std::printf("a delivery as the product sends it (%zu-byte body):\n%s\n\n%s\n",
              body.size(), head.c_str(), body.c_str());

  if (Has(modes, "memory")) {
    const int rc = RunMemory(bench);
    StopApp(bench);
    return rc;
  }

  Rows rows;
  std::vector<std::string> profiles;
  if (Has(modes, "ceilings")) {
    std::string script = "wrk.method = \"POST\"\n";
    script += StrCat("wrk.body = ", LuaString(body), "\n");
    for (const auto& [name, value] : headers) {
      script += StrCat("wrk.headers[", LuaString(name), "] = ",
                       LuaString(value), "\n");
    }
    const std::string script_file = (bench.dir / "post.lua").string();
    std::ofstream(script_file) << script;
    std::printf("\n== ceilings: A wrk -t%d -c%d -s post.lua; B a bare libcurl "
                "loop with %d handles; C the product's CurlSender alone, fed "
                "the captured request; post.lua:\n%s\n",
                absl::GetFlag(FLAGS_wrk_threads), absl::GetFlag(FLAGS_concurrency),
                absl::GetFlag(FLAGS_concurrency), script.c_str());
    std::vector<std::string> curl_headers;
    for (const auto& [name, value] : headers) {
      curl_headers.push_back(StrCat(name, ": ", value));
    }
    for (const std::string& scheme : schemes) {
      HttpReceiver* receiver = bench.receiver(scheme);
      const std::string url = StrCat(receiver->base_url(), "/", scheme, "/k1/0");
      CurlLoopOptions curl;
      curl.body = body;
      curl.headers = curl_headers;
      curl.concurrency = absl::GetFlag(FLAGS_concurrency);
      if (scheme == "https") curl.ca_file = bench.ca->ca_file();
      for (int i = 0; i < curl.concurrency; ++i) {
        curl.urls.push_back(StrCat(receiver->base_url(), "/", scheme, "/k",
                                   curl.concurrency, "/", i));
      }
      core::HttpRequest sender_request;
      sender_request.url = url;
      sender_request.method = "POST";
      sender_request.body = body;
      for (const auto& [name, value] : headers) {
        sender_request.headers.emplace_back(name, value);
      }
      for (int rep = 0; rep < reps; ++rep) {
        RunFigures a = RunWrk(bench, scheme, script_file, url);
        PrintRun("wrk", scheme, 0, rep, a, "wrk's own");
        rows.runs[StrCat("A ", scheme)].push_back(a);
        RunFigures b = RunCurlCeiling(bench, scheme, curl);
        PrintRun("curl", scheme, 0, rep, b, "-");
        rows.runs[StrCat("B ", scheme)].push_back(b);
        RunFigures c = RunSenderCeiling(bench, scheme, sender_request);
        PrintRun("sender", scheme, 0, rep, c, "-");
        rows.runs[StrCat("C ", scheme)].push_back(c);
      }
    }
  }
  for (const char* mode : {"ours", "drain"}) {
    if (!Has(modes, mode)) continue;
    const bool drain = std::string_view(mode) == "drain";
    std::printf("\n== %s: %s\n", mode,
                drain ? "deliver a committed backlog (no publishing); rate = "
                        "durable outcomes / time to the last one"
                      : "publishers keep a backlog; rate = requests at the "
                        "receiver / window (durable outcomes/s alongside)");
    for (const std::string& scheme : schemes) {
      for (int64_t k : ks) {
        for (const std::string& control : controls) {
          Bench::control = control;
          const std::string label =
              control == "plain"   ? std::string(mode)
              : control == "limited" ? StrCat(mode, "+lim")
                                     : StrCat(mode, "+ord");
          for (int rep = 0; rep < reps; ++rep) {
            if (absl::Status st = Prepare(bench, scheme, k); !st.ok()) {
              return Fail("prepare", st);
            }
            std::string profile;
            RunFigures f = drain ? RunDrain(bench, scheme, k, &profile)
                                 : RunOurs(bench, scheme, k, &profile);
            PrintRun(label.c_str(), scheme, k, rep, f,
                     drain ? "received" : "durable outcomes");
            if (!profile.empty()) std::printf("%s", profile.c_str());
            rows.runs[StrCat(label, " ", scheme, " ", k)].push_back(f);
          }
        }
        Bench::control = "plain";
      }
    }
  }

  std::map<std::pair<std::string, int64_t>, std::vector<LatencyFigures>> lat;
  if (Has(modes, "latency")) {
    std::printf("\n== latency: commit (Publish returned) to receipt, 1 "
                "subscription per event, fixed offered rates\n");
    for (const std::string& scheme : latency_schemes) {
      for (int64_t rate : rates) {
        for (int rep = 0; rep < reps; ++rep) {
          if (absl::Status st = Prepare(bench, scheme, 1); !st.ok()) {
            return Fail("prepare", st);
          }
          LatencyFigures f = RunLatency(bench, scheme, rate);
          std::printf("  rep %d %-5s %6lld/s offered %7.0f/s: %lld events, "
                      "p50 %.2f p99 %.2f p999 %.2f max %.2f ms; Publish p50 "
                      "%.2f p99 %.2f ms; %lld before the Publish reply, %lld "
                      "missing, max %.1f ms behind schedule; cpu ours %.2f "
                      "others %.2f\n",
                      rep, scheme.c_str(), static_cast<long long>(rate),
                      f.offered, static_cast<long long>(f.events), f.p50, f.p99,
                      f.p999, f.max, f.commit_p50, f.commit_p99,
                      static_cast<long long>(f.early),
                      static_cast<long long>(f.missing), f.max_lag, f.cpu.ours,
                      f.cpu.others);
          std::printf("%s", f.profile.c_str());
          std::fflush(stdout);
          lat[{scheme, rate}].push_back(f);
        }
      }
    }
  }

  if (Has(modes, "aging")) {
    if (int rc = RunAging(bench); rc != 0) return rc;
  }

  // Summary.
  std::printf("\n== summary: median of %d run(s); throughput in deliveries "
              "(requests) per second; load average now %.2f\n",
              reps, LoadAverage());
  for (const std::string& scheme : schemes) {
    const double a = rows.Median(StrCat("A ", scheme));
    const double b = rows.Median(StrCat("B ", scheme));
    if (a > 0 || b > 0) {
      const double c = rows.Median(StrCat("C ", scheme));
      std::printf("ceiling %-5s  A wrk %8.0f/s   B libcurl loop %8.0f/s   "
                  "C CurlSender alone %8.0f/s (C/B %.2f)\n",
                  scheme.c_str(), a, b, c, b > 0 ? c / b : 0);
      std::printf("RESULT ceiling scheme=%s a=%.0f b=%.0f c=%.0f\n",
                  scheme.c_str(), a, b, c);
    }
    for (const char* mode : {"ours", "ours+lim", "ours+ord", "drain",
                             "drain+lim", "drain+ord"}) {
      for (int64_t k : ks) {
        const std::string key = StrCat(mode, " ", scheme, " ", k);
        if (!rows.runs.contains(key)) continue;
        const double r = rows.Median(key);
        std::printf("%-9s %-5s K=%-4lld %8.0f/s   ours/A %.2f   ours/B %.2f   "
                    "(cpu ours %.2f, others %.2f)\n",
                    mode, scheme.c_str(), static_cast<long long>(k), r,
                    a > 0 ? r / a : 0, b > 0 ? r / b : 0,
                    rows.MedianCpu(key, false), rows.MedianCpu(key, true));
        std::printf("RESULT %s scheme=%s k=%lld rate=%.0f ratio_a=%.3f "
                    "ratio_b=%.3f\n",
                    mode, scheme.c_str(), static_cast<long long>(k), r,
                    a > 0 ? r / a : 0, b > 0 ? r / b : 0);
      }
    }
  }
  for (auto& [key, runs] : lat) {
    auto med = [&runs](double LatencyFigures::*field) {
      std::vector<double> v;
      for (const LatencyFigures& f : runs) v.push_back(f.*field);
      return bench::Median(v);
    };
    std::printf("latency %-5s %6lld events/s: p50 %.2f  p99 %.2f  p999 %.2f "
                "ms (max %.2f; Publish p99 %.2f ms)\n",
                key.first.c_str(), static_cast<long long>(key.second),
                med(&LatencyFigures::p50), med(&LatencyFigures::p99),
                med(&LatencyFigures::p999), med(&LatencyFigures::max),
                med(&LatencyFigures::commit_p99));
  }

  StopApp(bench);
  bench.receivers.clear();
  return 0;
}

}  // namespace
}  // namespace webhooks::bench

int main(int argc, char** argv) {
  webhooks::UseHugePageHeap(argv);  // as webhookd runs
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  return webhooks::bench::Run();
}
