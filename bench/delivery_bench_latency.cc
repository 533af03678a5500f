// Delivery benchmark (delivery_bench.cc), latency and memory: commit to
// receipt latency at fixed offered rates (RunLatency), the same on one
// database as deliveries accumulate (RunAging), and peak RSS with a large
// backlog pending (RunMemory). See delivery_bench.h.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "bench/delivery_bench.h"
#include "bench/http_receiver.h"
#include "bench/observed_store.h"
#include "bench/stats.h"

namespace webhooks::bench {

// ---------------------------------------------------------------------------
// Latency.

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

namespace {

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

}  // namespace

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

}  // namespace webhooks::bench
