// Matching benchmark: ns per event through core::EventMatcher over an
// in-memory core::SubscriptionIndex (no gRPC, no disk), and bytes of index
// per subscription. See bench/README.md.
//
//   match_bench --subscriptions=1000000 --repetitions=3 --filtered_percent=10
//
// With --filtered_percent > 0, the cases run a second time after that share
// of the subscriptions got a payload filter (core/payload_filter.h), in the
// same process on the same index: the difference is the filters' cost.
#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "bench/run_as_webhookd.h"
#include "bench/stats.h"
#include "bench/workload.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/strings.h"
#include "core/event_matcher.h"
#include "core/payload_filter.h"
#include "core/principal_directory.h"
#include "core/subscription_index.h"
#include "storage/memory_store.h"

ABSL_FLAG(int64_t, subscriptions, 1000000, "Subscriptions in the index.");
ABSL_FLAG(int64_t, events, 200000,
          "Distinct events of the cold set (random leaves of the tree).");
ABSL_FLAG(int64_t, warm_events, 16, "Distinct events of the warm set.");
ABSL_FLAG(int64_t, matches, 1000000, "Events matched per measurement.");
ABSL_FLAG(int, repetitions, 3, "Measurements of each case; the median counts.");
ABSL_FLAG(std::string, threads, "1,2", "Matching threads, comma-separated.");
ABSL_FLAG(uint64_t, seed, 42, "Workload seed.");
ABSL_FLAG(int, filtered_percent, 10,
          "Then give this percent of the subscriptions a payload filter and "
          "run the cases again (0: no second run).");

namespace webhooks::bench {
namespace {

using core::EventMatcher;
using core::MatchQuery;
using core::SubscriptionIndex;
using internal::EventRecord;

struct Event {
  EventRecord record;
  MatchQuery query;  // the index query the matcher builds for it
};

std::vector<int> ParseInts(const std::string& list) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    int n = 0;
    if (absl::SimpleAtoi(part, &n) && n > 0) out.push_back(n);
  }
  return out;
}

// CPU time of the calling thread, in seconds.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Timing {
  double wall = 0;  // seconds: the busiest thread's
  double cpu = 0;   // seconds, summed over the threads
};

// Events are matched in batches of this many; with `decode` each batch is
// first copied into per-thread records, untimed, as the service decodes an
// event just before it matches it, so that only the matching is timed.
constexpr size_t kBatch = 64;

// Matches `count` events from `events` (thread t starts at its own offset and
// walks the vector in order) on `threads` threads. Times only the matching:
// CPU and wall time are summed over the batches.
template <typename Fn>
Timing RunThreads(int threads, int64_t count, const std::vector<Event>& events,
                  bool decode, Fn match) {
  std::vector<std::thread> workers;
  std::vector<Timing> per_thread(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<Event> decoded(kBatch);
      Timing& timing = per_thread[static_cast<size_t>(t)];
      const size_t n = events.size();
      size_t i = n * static_cast<size_t>(t) / static_cast<size_t>(threads);
      int64_t k = t;
      while (k < count) {
        const Event* batch[kBatch];
        size_t size = 0;
        for (; size < kBatch && k < count; ++size, k += threads) {
          if (decode) {
            decoded[size] = events[i];
            batch[size] = &decoded[size];
          } else {
            batch[size] = &events[i];
          }
          if (++i == n) i = 0;
        }
        const double cpu_start = ThreadCpuSeconds();
        const double wall_start = Now();
        for (size_t b = 0; b < size; ++b) match(*batch[b]);
        timing.wall += Now() - wall_start;
        timing.cpu += ThreadCpuSeconds() - cpu_start;
      }
    });
  }
  for (std::thread& w : workers) w.join();
  Timing total;
  for (const Timing& t : per_thread) {
    total.wall = std::max(total.wall, t.wall);
    total.cpu += t.cpu;
  }
  return total;
}

// One value per repetition.
struct CaseResult {
  std::vector<double> matcher_cpu_ns;  // CPU time per event
  std::vector<double> matcher_wall_ns;  // wall time per event per thread
  std::vector<double> index_cpu_ns;
  std::vector<double> events_per_s;  // all threads, wall time
};

// Filters on the workload's event body (bench/workload.cc): most pass, some
// do not; each shape reads one to three fields.
constexpr const char* kFilterShapes[] = {
    R"({"type": "employee", "active": true})",
    R"({"title": {"$in": ["Forecaster", "Director", "Intern"]}})",
    R"({"$or": [{"email": {"$exists": false}}, {"id": {"$ne": "emp-0"}}]})",
    R"({"username": {"$gte": "jdoe5"}})",
};

int Run() {
  const WorkloadOptions options{
      .subscriptions = static_cast<size_t>(absl::GetFlag(FLAGS_subscriptions)),
      .seed = absl::GetFlag(FLAGS_seed)};
  const Workload workload(options);
  std::printf("match_bench: %s\n", MachineSummary().c_str());
  std::printf("absl mutex deadlock detection: %s\n",
              DeadlockDetectionState().c_str());
  std::printf("workload: %zu subscriptions, %zu sites (%zu leaves), %zu "
              "owners\n",
              workload.subscription_count(), workload.site_count(),
              workload.leaf_count(), workload.owner_count());

  // Owners with groups, so the ACL check looks them up as in production.
  storage::MemoryStore store;
  FakeClock clock;
  auto directory = core::PrincipalDirectory::Open(&store, &clock, {});
  if (!directory.ok()) {
    std::fprintf(stderr, "%s\n", directory.status().ToString().c_str());
    return 1;
  }
  for (size_t i = 0; i < workload.owner_count(); ++i) {
    (void)(*directory)->SetGroups(Workload::Owner(i), {kOwnerGroup});
  }

  SubscriptionIndex index;
  SeededRandom random(absl::GetFlag(FLAGS_seed));
  malloc_trim(0);
  const size_t rss_before = RssBytes();
  const double build_start = Now();
  std::vector<std::string> ids;  // for the filtered run's re-Upserts
  ids.reserve(workload.subscription_count());
  for (size_t i = 0; i < workload.subscription_count(); ++i) {
    const int64_t millis = 1700000000000 + static_cast<int64_t>(i / 64);
    ids.push_back(NewId("sub_", millis, random));
    index.Upsert(Workload::ToIndexEntry(workload.Subscription(i), ids.back()));
  }
  const double build_s = Now() - build_start;
  malloc_trim(0);
  const size_t rss_after = RssBytes();
  const double n = static_cast<double>(index.size());
  std::printf("index: %zu entries built in %.2f s (%.0f ns per Upsert)\n",
              index.size(), build_s, build_s * 1e9 / n);
  std::printf("index memory: MemoryUsage() %.1f MiB = %.0f bytes/subscription;"
              " RSS growth %.1f MiB = %.0f bytes/subscription\n",
              static_cast<double>(index.MemoryUsage()) / (1 << 20),
              static_cast<double>(index.MemoryUsage()) / n,
              static_cast<double>(rss_after - rss_before) / (1 << 20),
              static_cast<double>(rss_after - rss_before) / n);

  std::mt19937_64 rng(absl::GetFlag(FLAGS_seed) + 1);
  std::vector<Event> cold(static_cast<size_t>(absl::GetFlag(FLAGS_events)));
  for (size_t i = 0; i < cold.size(); ++i) {
    cold[i].record = Workload::ToRecord(
        workload.RandomEvent(rng, "evt-" + std::to_string(i)),
        1700000000000000);
    cold[i].query.sites = core::CandidateSites(cold[i].record.site(), "");
    cold[i].query.resource_types.assign(
        cold[i].record.resource_types().begin(),
        cold[i].record.resource_types().end());
    cold[i].query.event_types.assign(cold[i].record.event_types().begin(),
                                     cold[i].record.event_types().end());
  }
  const std::vector<Event> warm(
      cold.begin(),
      cold.begin() + std::min<int64_t>(absl::GetFlag(FLAGS_warm_events),
                                       static_cast<int64_t>(cold.size())));

  const EventMatcher matcher(&index, directory->get());
  const auto summarize = [&] {
    std::vector<double> deliveries, candidates;
    double filtered = 0, with_filtered = 0;
    for (const Event& e : cold) {
      deliveries.push_back(static_cast<double>(
          matcher.ForEachDelivery(e.record, [](const core::Recipient&) {})));
      size_t c = 0, f = 0;
      index.Match(e.query, [&](const core::SubscriptionView& v) {
        ++c;
        f += v.filter != nullptr ? 1 : 0;
      });
      candidates.push_back(static_cast<double>(c));
      filtered += static_cast<double>(f);
      with_filtered += f > 0 ? 1 : 0;
    }
    double total = 0, zero = 0;
    for (double d : deliveries) {
      total += d;
      zero += d == 0 ? 1 : 0;
    }
    double total_candidates = 0;
    for (double c : candidates) total_candidates += c;
    const double events = static_cast<double>(deliveries.size());
    std::printf("deliveries per event over the cold set: avg %.2f, p50 %.0f, "
                "p99 %.0f, max %.0f, none %.1f%%; index candidates avg %.2f, "
                "with a filter avg %.2f (%.1f%% of events have one)\n",
                total / events, Percentile(deliveries, 50),
                Percentile(deliveries, 99), Percentile(deliveries, 100),
                100 * zero / events, total_candidates / events,
                filtered / events, 100 * with_filtered / events);
  };
  summarize();

  const int64_t count = absl::GetFlag(FLAGS_matches);
  const std::vector<int> thread_counts = ParseInts(absl::GetFlag(FLAGS_threads));
  std::atomic<size_t> sink{0};
  const auto by_matcher = [&](const Event& e) {
    sink.fetch_add(
        matcher.ForEachDelivery(e.record, [](const core::Recipient&) {}),
        std::memory_order_relaxed);
  };
  const auto by_index = [&](const Event& e) {
    size_t c = 0;
    index.Match(e.query, [&c](const core::SubscriptionView&) { ++c; });
    sink.fetch_add(c, std::memory_order_relaxed);
  };
  struct Set {
    const char* name;
    const std::vector<Event>* events;
    bool decode;
  };
  const Set sets[] = {{"cold", &cold, true},
                      {"cold-rec", &cold, false},
                      {"warm", &warm, true}};
  constexpr size_t kSets = std::size(sets);
  std::vector<double> cold_cpu_ns;  // per run, the 1-thread cold median
  const auto measure = [&](const char* title) {
    std::vector<CaseResult> results(kSets * thread_counts.size());
    for (int rep = 0; rep < absl::GetFlag(FLAGS_repetitions); ++rep) {
      for (size_t s = 0; s < kSets; ++s) {
        for (size_t t = 0; t < thread_counts.size(); ++t) {
          const int threads = thread_counts[t];
          CaseResult& r = results[s * thread_counts.size() + t];
          const Timing m = RunThreads(threads, count, *sets[s].events,
                                      sets[s].decode, by_matcher);
          const Timing x = RunThreads(threads, count, *sets[s].events,
                                      sets[s].decode, by_index);
          const double events = static_cast<double>(count);
          r.matcher_cpu_ns.push_back(m.cpu * 1e9 / events);
          r.matcher_wall_ns.push_back(m.wall * threads * 1e9 / events);
          r.index_cpu_ns.push_back(x.cpu * 1e9 / events);
          r.events_per_s.push_back(events / m.wall);
        }
      }
    }
    std::printf("\n%s\n(median of %d; CPU ns = thread CPU time per event, "
                "wall ns = wall time per event on each thread; only matching "
                "is timed.\n cold: %zu distinct events over the whole tree, each decoded "
                "(copied into a fresh record) just before\n it is matched, as "
                "the service does; cold-rec: the same, matched from records "
                "built at start-up,\n cold in memory too; warm: %zu events "
                "again and again)\n",
                title, absl::GetFlag(FLAGS_repetitions), cold.size(),
                warm.size());
    std::printf("%-8s %7s %16s %16s %16s %14s\n", "set", "threads",
                "matcher CPU ns", "matcher wall ns", "index CPU ns",
                "matcher ev/s");
    for (size_t s = 0; s < kSets; ++s) {
      for (size_t t = 0; t < thread_counts.size(); ++t) {
        const CaseResult& r = results[s * thread_counts.size() + t];
        std::printf("%-8s %7d %16.0f %16.0f %16.0f %14.0f\n", sets[s].name,
                    thread_counts[t], Median(r.matcher_cpu_ns),
                    Median(r.matcher_wall_ns), Median(r.index_cpu_ns),
                    Median(r.events_per_s));
      }
    }
    if (!results.empty()) {
      cold_cpu_ns.push_back(Median(results[0].matcher_cpu_ns));
    }
  };
  measure("no filters:");

  const int percent = absl::GetFlag(FLAGS_filtered_percent);
  if (percent > 0) {
    // A pseudo-random `percent` of the subscriptions get a filter, compiled
    // once, as SubscriptionRegistry does when the index takes it.
    const size_t memory_before = index.MemoryUsage();
    const double filter_start = Now();
    size_t filtered = 0;
    for (size_t i = 0; i < workload.subscription_count(); ++i) {
      const uint64_t mixed = (uint64_t{i} + 1) * 0x9E3779B97F4A7C15u;
      if ((mixed >> 32) % 100 >= static_cast<uint64_t>(percent)) continue;
      core::IndexEntry entry =
          Workload::ToIndexEntry(workload.Subscription(i), ids[i]);
      const char* shape = kFilterShapes[(i / 100) % std::size(kFilterShapes)];
      absl::StatusOr<core::PayloadFilterPtr> compiled =
          core::PayloadFilter::Compile("filter", shape, core::Limits());
      if (!compiled.ok()) {
        std::fprintf(stderr, "%s\n", compiled.status().ToString().c_str());
        return 1;
      }
      entry.filter = *std::move(compiled);
      index.Upsert(entry);
      ++filtered;
    }
    const double filter_s = Now() - filter_start;
    const double per = static_cast<double>(std::max<size_t>(filtered, 1));
    std::printf("\nfilters: %zu subscriptions (%d%%) got one of %zu shapes "
                "in %.2f s (%.0f ns per compile + Upsert); index memory "
                "+%.1f MiB (MemoryUsage(), filters' own heap not counted)\n",
                filtered, percent, std::size(kFilterShapes), filter_s,
                filter_s * 1e9 / per,
                static_cast<double>(index.MemoryUsage() - memory_before) /
                    (1 << 20));
    summarize();
    measure(StrCat("filters on ", percent, "% of the subscriptions:").c_str());
    if (cold_cpu_ns.size() == 2) {
      std::printf("\nfilter cost, cold, %d thread(s): %+.0f CPU ns per "
                  "event (%.0f -> %.0f ns)\n",
                  thread_counts.empty() ? 0 : thread_counts[0],
                  cold_cpu_ns[1] - cold_cpu_ns[0], cold_cpu_ns[0],
                  cold_cpu_ns[1]);
    }
  }
  std::printf("\nload average after: %.2f (sink %zu)\n", LoadAverage(),
              sink.load());
  return 0;
}

}  // namespace
}  // namespace webhooks::bench

int main(int argc, char** argv) {
  webhooks::bench::StartAsWebhookd(argc, argv);
  return webhooks::bench::Run();
}
