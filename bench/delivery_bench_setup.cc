// Delivery benchmark (delivery_bench.cc), setup: the helpers every part
// uses (lists, sleeping, errors, per-thread CPU), the Recorder of what the
// receivers saw, Bench's subscriptions and settling, webhookd's start and
// stop over a new database, and the gRPC Publisher. See delivery_bench.h.
#include <stdlib.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "bench/delivery_bench.h"
#include "bench/fake_sender.h"
#include "bench/gate_sender.h"
#include "bench/http_receiver.h"
#include "bench/observed_store.h"
#include "bench/stats.h"
#include "bench/workload.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/strings.h"
#include "delivery/curl_sender.h"
#include "grpcpp/grpcpp.h"
#include "server/application.h"
#include "server/config_loader.h"
#include "storage/rocksdb_store.h"
#include "webhooks/v1/event.grpc.pb.h"
#include "webhooks/v1/subscription.grpc.pb.h"

namespace webhooks::bench {

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

ThreadTimes ThreadSched(int tid) {
  if (tid == 0) return {};
  std::ifstream in(StrCat("/proc/self/task/", tid, "/schedstat"));
  uint64_t cpu_ns = 0, wait_ns = 0;
  in >> cpu_ns >> wait_ns;
  ThreadTimes times{static_cast<double>(cpu_ns) / 1e9,
                    static_cast<double>(wait_ns) / 1e9};
  std::ifstream status(StrCat("/proc/self/task/", tid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    double* field = absl::StartsWith(line, "voluntary_ctxt_switches:")
                        ? &times.blocked
                    : absl::StartsWith(line, "nonvoluntary_ctxt_switches:")
                        ? &times.preempted
                        : nullptr;
    if (field != nullptr) {
      (void)absl::SimpleAtod(absl::StripAsciiWhitespace(
                                 line.substr(line.find(':') + 1)),
                             field);
    }
  }
  return times;
}

ThreadTimes ThreadsSched(const std::vector<int>& tids) {
  ThreadTimes sum;
  for (int tid : tids) sum = sum + ThreadSched(tid);
  return sum;
}

std::vector<int> ThreadsNamed(std::string_view prefix) {
  std::vector<int> tids;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/self/task", error)) {
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    std::getline(comm, name);
    int tid = 0;
    if (absl::StartsWith(name, absl::string_view(prefix.data(), prefix.size())) &&
        absl::SimpleAtoi(entry.path().filename().string(), &tid)) {
      tids.push_back(tid);
    }
  }
  return tids;
}

std::string Use(const ThreadTimes& t, double n, double seconds) {
  char text[240];
  const double per_1000 = n > 0 ? 1000 / n : 0;
  std::snprintf(text, sizeof(text),
                "%.2f cores (+%.2f waiting for a CPU), %.1f us CPU each, "
                "switched out %.0f (%.0f preempted) per 1000",
                t.cpu / seconds, t.waiting / seconds, n > 0 ? t.cpu * 1e6 / n : 0,
                (t.blocked + t.preempted) * per_1000, t.preempted * per_1000);
  return text;
}

namespace {

// Event `seq`'s body, --body_bytes long.
std::string EventBody(int64_t seq) {
  return DeliveryEventBody(
      seq, static_cast<size_t>(absl::GetFlag(FLAGS_body_bytes)));
}

int64_t ParseSeq(std::string_view body) {
  const size_t at = body.find("\"seq\":");
  if (at == std::string_view::npos) return -1;
  int64_t seq = -1;
  const char* begin = body.data() + at + 6;
  std::from_chars(begin, body.data() + body.size(), seq);
  return seq;
}

}  // namespace

// ---------------------------------------------------------------------------
// Recorder.

void Recorder::OnRequest(const Received& r) {
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

std::pair<std::string, std::string> Recorder::capture() {
  std::lock_guard<std::mutex> lock(mu_);
  return {head_, body_};
}

std::atomic<double>* Recorder::StartArrivals(int64_t n) {
  auto* a = new std::atomic<double>[static_cast<size_t>(n)];
  for (int64_t i = 0; i < n; ++i) a[i].store(0, std::memory_order_relaxed);
  arrivals_size_.store(n);
  arrivals_.store(a, std::memory_order_release);
  return a;
}

void Recorder::StopArrivals() {
  arrivals_.store(nullptr, std::memory_order_release);
  arrivals_size_.store(0);
}

// ---------------------------------------------------------------------------
// Bench.

std::vector<int> Bench::receiver_tids() const {
  std::vector<int> tids;
  for (const auto& [scheme, r] : receivers) {
    for (int tid : r->thread_ids()) tids.push_back(tid);
  }
  return tids;
}

int64_t Bench::received() const {
  int64_t n = 0;
  for (const auto& [scheme, r] : receivers) n += r->requests();
  return n;
}

std::string Bench::Site(const std::string& scheme, int64_t k) {
  return control == "plain" ? StrCat("/bench/", scheme, "/k", k)
                            : StrCat("/bench/", control, "/", scheme, "/k", k);
}

absl::Status Bench::EnsureSubscriptions(const std::string& scheme, int64_t k) {
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
    s->set_target_url(StrCat(receiver(scheme)->base_url_for_target(i), "/",
                             scheme, "/k", k, "/", i));
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

bool Bench::Settle(double timeout_s) {
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

// ---------------------------------------------------------------------------
// webhookd.

delivery::CurlSenderOptions SenderOptions(const Bench& bench) {
  delivery::CurlSenderOptions options;
  options.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  if (absl::GetFlag(FLAGS_max_idle_connections) >= 0) {
    options.max_idle_connections = absl::GetFlag(FLAGS_max_idle_connections);
  }
  options.max_per_destination = absl::GetFlag(FLAGS_concurrency);
  options.sender_threads =
      absl::GetFlag(FLAGS_sender_threads) > 0
          ? absl::GetFlag(FLAGS_sender_threads)
          : delivery::DefaultSenderThreads(options.max_in_flight);
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
  core::HttpSenderPtr sender;
  if (absl::GetFlag(FLAGS_instant_sender)) {
    sender = std::make_unique<FakeSender>(FakeSender::Mode::kOk);
  } else {
    auto curl_sender = delivery::CurlSender::Create(sender_options);
    if (!curl_sender.ok()) return curl_sender.status();
    sender = *std::move(curl_sender);
  }
  auto gate = std::make_unique<GateSender>(std::move(sender));

  v1::ServerConfig config;
  config.set_listen_address("127.0.0.1:0");
  config.set_allow_http_targets(true);
  config.mutable_delivery()->set_max_in_flight(sender_options.max_in_flight);
  config.mutable_delivery()->set_max_per_destination(
      sender_options.max_per_destination);
  config.mutable_delivery()->add_allowed_cidrs("127.0.0.1/32");
  config.mutable_delivery()->set_saturated_write_interval_ms(
      absl::GetFlag(FLAGS_saturated_write_interval_ms));
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

absl::Status Prepare(Bench& bench, const std::string& scheme, int64_t k) {
  if (absl::GetFlag(FLAGS_fresh_store) && bench.app != nullptr) {
    StopApp(bench);
    if (absl::Status s = StartApp(bench); !s.ok()) return s;
  }
  return bench.EnsureSubscriptions(scheme, k);
}

// ---------------------------------------------------------------------------
// Publisher.

absl::StatusOr<int64_t> Publisher::Publish(const std::string& site,
                                           int64_t first, int count) {
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

}  // namespace webhooks::bench
