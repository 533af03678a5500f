#include "common/metrics.h"

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhooks {
namespace {

using ::testing::HasSubstr;

TEST(MetricsRegistryTest, RendersNothingWhenEmpty) {
  MetricsRegistry registry;
  EXPECT_EQ(registry.Render(), "");
}

TEST(MetricsRegistryTest, RendersCounterWithoutLabels) {
  MetricsRegistry registry;
  absl::StatusOr<Counter*> c =
      registry.AddCounter("webhookd_retries_total", "Retries scheduled.");
  ASSERT_TRUE(c.ok()) << c.status();
  (*c)->Increment();
  (*c)->Increment(2);
  EXPECT_EQ(registry.Render(),
            "# HELP webhookd_retries_total Retries scheduled.\n"
            "# TYPE webhookd_retries_total counter\n"
            "webhookd_retries_total 3\n");
}

TEST(MetricsRegistryTest, RendersLabeledSeriesUnderOneHeader) {
  MetricsRegistry registry;
  Counter* ok = *registry.AddCounter("attempts_total", "Attempts.",
                                     {{"outcome", "success"}});
  Counter* gone = *registry.AddCounter("attempts_total", "Attempts.",
                                       {{"outcome", "gone"}, {"b", "x"}});
  ok->Increment(5);
  gone->Increment();
  EXPECT_EQ(registry.Render(),
            "# HELP attempts_total Attempts.\n"
            "# TYPE attempts_total counter\n"
            "attempts_total{outcome=\"success\"} 5\n"
            "attempts_total{outcome=\"gone\",b=\"x\"} 1\n");
}

TEST(MetricsRegistryTest, RendersGaugesAndCallbacks) {
  MetricsRegistry registry;
  Gauge* g = *registry.AddGauge("in_flight", "Requests in flight.");
  g->Set(4);
  g->Add(-1.5);
  double depth = 7;
  ASSERT_TRUE(registry
                  .AddGaugeCallback("queue_depth", "Pending deliveries.",
                                    [&depth] { return depth; })
                  .ok());
  ASSERT_TRUE(
      registry.AddCounterCallback("sent_total", "Sent.", [] { return 12.0; })
          .ok());
  EXPECT_EQ(registry.Render(),
            "# HELP in_flight Requests in flight.\n"
            "# TYPE in_flight gauge\n"
            "in_flight 2.5\n"
            "# HELP queue_depth Pending deliveries.\n"
            "# TYPE queue_depth gauge\n"
            "queue_depth 7\n"
            "# HELP sent_total Sent.\n"
            "# TYPE sent_total counter\n"
            "sent_total 12\n");
  depth = 9;
  EXPECT_THAT(registry.Render(), HasSubstr("\nqueue_depth 9\n"));
}

TEST(MetricsRegistryTest, RendersHistogram) {
  MetricsRegistry registry;
  Histogram* h =
      *registry.AddHistogram("latency_seconds", "Latency.", {0.1, 1, 2.5});
  h->Observe(0.05);
  h->Observe(0.1);  // bounds are inclusive
  h->Observe(2);
  h->Observe(30);
  h->Observe(std::nan(""));  // ignored
  EXPECT_EQ(registry.Render(),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{le=\"0.1\"} 2\n"
            "latency_seconds_bucket{le=\"1\"} 2\n"
            "latency_seconds_bucket{le=\"2.5\"} 3\n"
            "latency_seconds_bucket{le=\"+Inf\"} 4\n"
            "latency_seconds_sum 32.15\n"
            "latency_seconds_count 4\n");
}

TEST(MetricsRegistryTest, RendersLabeledHistogramWithLeLast) {
  MetricsRegistry registry;
  Histogram* h =
      *registry.AddHistogram("batch", "Batch size.", {1}, {{"kind", "write"}});
  h->Observe(3);
  EXPECT_EQ(registry.Render(),
            "# HELP batch Batch size.\n"
            "# TYPE batch histogram\n"
            "batch_bucket{kind=\"write\",le=\"1\"} 0\n"
            "batch_bucket{kind=\"write\",le=\"+Inf\"} 1\n"
            "batch_sum{kind=\"write\"} 3\n"
            "batch_count{kind=\"write\"} 1\n");
}

TEST(MetricsRegistryTest, EscapesHelpAndLabelValues) {
  MetricsRegistry registry;
  Counter* c = *registry.AddCounter("c", "Back\\slash and\nnewline \"q\".",
                                    {{"v", "a\"b\\c\nd"}});
  c->Increment();
  EXPECT_EQ(registry.Render(),
            "# HELP c Back\\\\slash and\\nnewline \"q\".\n"
            "# TYPE c counter\n"
            "c{v=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(MetricsRegistryTest, RejectsBadRegistrations) {
  MetricsRegistry registry;
  EXPECT_FALSE(registry.AddCounter("", "h").ok());
  EXPECT_FALSE(registry.AddCounter("9lives", "h").ok());
  EXPECT_FALSE(registry.AddCounter("has-dash", "h").ok());
  EXPECT_TRUE(registry.AddCounter("ns:ok_total", "h").ok());
  EXPECT_FALSE(registry.AddCounter("x", "h", {{"bad:label", "v"}}).ok());
  EXPECT_FALSE(registry.AddCounter("x", "h", {{"__reserved", "v"}}).ok());
  EXPECT_FALSE(registry.AddCounter("x", "h", {{"a", "1"}, {"a", "2"}}).ok());
  ASSERT_TRUE(registry.AddCounter("dup", "h", {{"a", "1"}}).ok());
  EXPECT_FALSE(registry.AddCounter("dup", "h", {{"a", "1"}}).ok());
  EXPECT_FALSE(registry.AddGauge("dup", "h", {{"a", "2"}}).ok());
  EXPECT_FALSE(registry.AddCounter("dup", "other help", {{"a", "2"}}).ok());
  EXPECT_TRUE(registry.AddCounter("dup", "h", {{"a", "2"}}).ok());
  EXPECT_FALSE(registry.AddHistogram("h", "h", {1, 1}).ok());
  EXPECT_FALSE(registry.AddHistogram("h", "h", {2, 1}).ok());
  EXPECT_FALSE(
      registry
          .AddHistogram("h", "h", {1, std::numeric_limits<double>::infinity()})
          .ok());
  EXPECT_FALSE(registry.AddHistogram("h", "h", {1}, {{"le", "x"}}).ok());
  EXPECT_TRUE(registry.AddHistogram("h", "h", {}).ok());
}

TEST(MetricsRegistryTest, FormatsValues) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(0.005), "0.005");
  EXPECT_EQ(FormatMetricValue(-3), "-3");
  EXPECT_EQ(FormatMetricValue(1e21), "1e+21");
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatMetricValue(-std::numeric_limits<double>::infinity()),
            "-Inf");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
}

TEST(MetricsRegistryTest, ExponentialBounds) {
  EXPECT_EQ(Histogram::ExponentialBounds(1, 2, 4),
            (std::vector<double>{1, 2, 4, 8}));
  EXPECT_TRUE(Histogram::ExponentialBounds(1, 2, 0).empty());
}

TEST(MetricsRegistryTest, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry registry;
  Counter* c = *registry.AddCounter("c_total", "h");
  Histogram* h = *registry.AddHistogram("h", "h", {0.5});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c->Increment();
        h->Observe(1);
      }
    });
  }
  // Scrapes while updates run.
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(registry.Render().empty());
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(c->value(), 40000);
  const Histogram::Snapshot s = h->snapshot();
  EXPECT_EQ(s.count, 40000);
  EXPECT_EQ(s.cumulative, (std::vector<int64_t>{0, 40000}));
  EXPECT_EQ(s.sum, 40000);
}

}  // namespace
}  // namespace webhooks
