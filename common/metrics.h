// A small metrics registry that renders the Prometheus text exposition
// format 0.0.4: counters, gauges (set, or read at scrape time) and
// histograms with fixed buckets.
//
//   MetricsRegistry registry;
//   ASSIGN_OR_RETURN(Counter* sent,
//                    registry.AddCounter("webhookd_sent_total", "Requests.",
//                                        {{"outcome", "success"}}));
//   sent->Increment();
//   std::string text = registry.Render();  // the body of GET /metrics
//
// Thread-safe. Updating a Counter, Gauge or Histogram takes no lock and
// allocates nothing (atomics only), so it may sit on a hot path.
// Registration and Render take the registry's mutex. Metrics live as long as
// the registry; the pointers it hands out stay valid until it is destroyed.
#ifndef WEBHOOKS_COMMON_METRICS_H_
#define WEBHOOKS_COMMON_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace webhooks {

// Label name/value pairs of one series, in the order they are rendered.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// A monotonic count.
class Counter {
 public:
  // `n` must be >= 0.
  void Increment(int64_t n = 1) {
    value_.fetch_add(n, std::memory_order_relaxed);
  }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations into fixed buckets and keeps their sum.
class Histogram {
 public:
  struct Snapshot {
    std::vector<int64_t> cumulative;  // per bound, then +Inf
    int64_t count = 0;                // == cumulative.back()
    double sum = 0;
  };

  // `bounds`: the buckets' upper bounds (inclusive), finite and strictly
  // increasing; the +Inf bucket is implicit. MetricsRegistry checks them.
  explicit Histogram(std::vector<double> bounds);

  // Ignores NaN.
  void Observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  // Counts and sum are read one by one: under concurrent Observe calls the
  // sum may lag or lead the counts by a few observations.
  Snapshot snapshot() const;

  // `count` bounds: start, start*factor, start*factor^2, ...
  static std::vector<double> ExponentialBounds(double start, double factor,
                                               int count);

 private:
  const std::vector<double> bounds_;
  // Non-cumulative; one per bound plus the +Inf bucket.
  const std::unique_ptr<std::atomic<int64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Each Add registers one series of the metric `name` (one label set).
  // Several series of one name share its HELP and TYPE and must agree on
  // both. Errors, all INVALID_ARGUMENT: a name or label name that
  // Prometheus does not accept, a name registered before with another type
  // or help, a label set registered before for the name, duplicate label
  // names, `le` as a histogram's label, bad histogram bounds.

  absl::StatusOr<Counter*> AddCounter(std::string_view name,
                                      std::string_view help,
                                      MetricLabels labels = {})
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<Gauge*> AddGauge(std::string_view name, std::string_view help,
                                  MetricLabels labels = {})
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<Histogram*> AddHistogram(std::string_view name,
                                          std::string_view help,
                                          std::vector<double> bounds,
                                          MetricLabels labels = {})
      ABSL_LOCKS_EXCLUDED(mu_);

  // Series whose value `read` computes at each Render: for counts kept
  // elsewhere (an existing atomic) or values costly to keep current. `read`
  // runs under the registry's mutex on the scraping thread: it must be
  // thread-safe, must not call into this registry, and should be quick
  // (scrapes are serialized behind it).
  absl::Status AddCounterCallback(std::string_view name, std::string_view help,
                                  std::function<double()> read,
                                  MetricLabels labels = {})
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status AddGaugeCallback(std::string_view name, std::string_view help,
                                std::function<double()> read,
                                MetricLabels labels = {})
      ABSL_LOCKS_EXCLUDED(mu_);

  // Every metric in registration order (series in registration order within
  // a metric), in the text exposition format 0.0.4.
  std::string Render() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Series {
    MetricLabels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> read;
  };
  struct Family {
    std::string name;
    std::string help;
    Type type;
    std::vector<Series> series;
  };

  // Checks the names and finds or creates the family; returns the series to
  // fill in (already appended).
  absl::StatusOr<Series*> NewSeries(std::string_view name,
                                    std::string_view help, Type type,
                                    MetricLabels labels)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Family>> families_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Family*> by_name_ ABSL_GUARDED_BY(mu_);
};

// Formats a sample value as the exposition format wants it: shortest
// round-trip decimal, "+Inf", "-Inf" or "NaN".
std::string FormatMetricValue(double value);

}  // namespace webhooks

#endif  // WEBHOOKS_COMMON_METRICS_H_
