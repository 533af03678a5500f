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
//
// This file: the flags, Run() (the modes in turn, then the summary) and
// main. delivery_bench.h: what the parts share; delivery_bench_setup.cc:
// helpers, the Recorder, starting webhookd, the Publisher;
// delivery_bench_throughput.cc: ceilings, ours, drain and the dispatcher
// profile; delivery_bench_latency.cc: latency, aging and memory.
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "bench/curl_ceiling.h"
#include "bench/delivery_bench.h"
#include "bench/http_receiver.h"
#include "bench/receiver_flags.h"
#include "bench/run_as_webhookd.h"
#include "bench/stats.h"
#include "common/strings.h"
#include "core/http_sender.h"
#include "tests/test_certificates.h"

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
ABSL_FLAG(int, sender_threads, 0,
          "The sender's loop threads (0: webhookd's default for this "
          "machine).");
ABSL_FLAG(int, saturated_write_interval_ms, 0,
          "delivery.saturated_write_interval_ms (0: webhookd's default; -1: "
          "each outcome write as soon as the previous one ends).");
ABSL_FLAG(bool, instant_sender, false,
          "drain: a sender that answers 200 at once on a thread of its own "
          "instead of libcurl, so the rate is the dispatcher's alone (fetch, "
          "render, sign, write back).");
ABSL_FLAG(int, max_idle_connections, -1,
          "The sender's idle connections kept beyond those in use (-1: its "
          "default). 0 makes connections to many destinations close and "
          "open again, as receivers' keep-alive timeouts do.");
ABSL_FLAG(int, receiver_threads, 1, "Event loops of the receiver.");
ABSL_FLAG(int, receiver_status, 204, "What the receiver answers: 200 or 204.");
ABSL_FLAG(std::string, wrk, "wrk", "The wrk binary.");
ABSL_FLAG(int, wrk_threads, 1, "wrk -t.");
ABSL_FLAG(int, publishers, 4, "Publishing threads for ours and drain.");
ABSL_FLAG(int, body_bytes, 200,
          "Bytes of each event's JSON body (padded; at least ~120).");
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
              "wrk -c, libcurl handles); receiver threads %d, %s; absl "
              "mutex deadlock detection: %s\n",
              modes.c_str(), absl::GetFlag(FLAGS_concurrency),
              absl::GetFlag(FLAGS_receiver_threads),
              ReceiverFlagsSummary().c_str(),
              DeadlockDetectionState().c_str());

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
    ApplyReceiverFlags(options);
    if (scheme == "https") {
      options.cert_file = bench.ca->cert_file();
      options.key_file = bench.ca->key_file();
    }
    auto receiver = HttpReceiver::Start(
        options, [&bench](const Received& r) { bench.recorder.OnRequest(r); });
    if (!receiver.ok()) return Fail("receiver", receiver.status());
    bench.receivers[scheme] = *std::move(receiver);
  }

  const bool instant = absl::GetFlag(FLAGS_instant_sender);
  if (instant && modes != "drain") {
    return Fail("flags", absl::InvalidArgumentError(
                             "--instant_sender: only with --modes=drain"));
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
    if (!bench.Settle(30) || (!instant && !bench.recorder.captured())) {
      return Fail("capture", absl::DeadlineExceededError("no delivery arrived"));
    }
  }
  // (Nothing reaches the receiver from the instant sender.)
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
  webhooks::bench::StartAsWebhookd(argc, argv);  // may run us again
  signal(SIGPIPE, SIG_IGN);
  return webhooks::bench::Run();
}
