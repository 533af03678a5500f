#include "server/metrics_exporter.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "common/status_macros.h"

namespace webhooks::server {
namespace {

// Commit to first send: milliseconds when idle, minutes under a backlog.
const std::vector<double>& CommitToSendBounds() {
  static const auto* bounds = new std::vector<double>{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
      1,     2.5,    5,     10,   30,    60,   300, 1800};
  return *bounds;
}

// One attempt: up to the sender's total timeout (15 s by default).
const std::vector<double>& AttemptDurationBounds() {
  static const auto* bounds = new std::vector<double>{
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30};
  return *bounds;
}

double Seconds(absl::Duration d) {
  return absl::ToDoubleSeconds(std::max(d, absl::ZeroDuration()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServiceMetrics>> ServiceMetrics::Create(
    absl::Duration depth_refresh) {
  std::unique_ptr<ServiceMetrics> m(new ServiceMetrics(depth_refresh));
  MetricsRegistry& r = m->registry_;
  for (int i = 0; i < kOutcomeCount; ++i) {
    const std::string_view label = core::OutcomeLabel(static_cast<Outcome>(i));
    ASSIGN_OR_RETURN(
        m->attempts_[i],
        r.AddCounter("webhookd_delivery_attempts_total",
                     "Delivery attempts by outcome (success, http_error, "
                     "gone, timeout, connect_error, tls_error, refused).",
                     {{"outcome", std::string(label)}}));
  }
  ASSIGN_OR_RETURN(
      m->commit_to_send_,
      r.AddHistogram("webhookd_delivery_commit_to_send_seconds",
                     "Seconds from a delivery's commit to its first attempt "
                     "being handed to the sender.",
                     CommitToSendBounds()));
  ASSIGN_OR_RETURN(
      m->attempt_duration_,
      r.AddHistogram("webhookd_delivery_attempt_duration_seconds",
                     "Seconds one delivery attempt took, connect to last "
                     "response byte (or failure).",
                     AttemptDurationBounds()));
  ASSIGN_OR_RETURN(
      m->write_batch_,
      r.AddHistogram("webhookd_delivery_write_batch_size",
                     "Attempt outcomes written back per synced batch.",
                     Histogram::ExponentialBounds(1, 2, 12)));
  return m;
}

absl::Status ServiceMetrics::Attach(const core::DispatcherStats* stats,
                                    const core::DeliveryQueue* queue) {
  auto read = [](const std::atomic<int64_t>& value) {
    return [&value] {
      return static_cast<double>(value.load(std::memory_order_relaxed));
    };
  };
  RETURN_IF_ERROR(registry_.AddCounterCallback(
      "webhookd_delivery_retries_scheduled_total",
      "Failed attempts after which another attempt was scheduled.",
      read(stats->retries_scheduled)));
  RETURN_IF_ERROR(registry_.AddCounterCallback(
      "webhookd_deliveries_failed_total",
      "Deliveries failed permanently (retry schedule used up, 410 Gone, "
      "subscription or event gone).",
      read(stats->deliveries_failed)));
  RETURN_IF_ERROR(registry_.AddCounterCallback(
      "webhookd_subscriptions_deactivated_total",
      "Subscriptions deactivated by delivery failures (the failure limit "
      "or 410 Gone).",
      read(stats->subscriptions_deactivated)));
  RETURN_IF_ERROR(registry_.AddGaugeCallback(
      "webhookd_deliveries_in_flight",
      "Deliveries handed to the sender whose outcome is not written yet.",
      read(stats->in_flight)));
  RETURN_IF_ERROR(registry_.AddGaugeCallback(
      "webhookd_delivery_queue_depth",
      "Pending deliveries, due or not (refreshed at most every few "
      "seconds).",
      [this] { return QueueDepth(); }));
  RefreshDepth(queue);  // once at start-up, then on the task's thread
  depth_task_ = std::make_unique<PeriodicTask>(
      depth_refresh_, [this, queue] { RefreshDepth(queue); });
  return absl::OkStatus();
}

absl::Status ServiceMetrics::AttachCluster(const core::ClusterStats* stats) {
  auto read = [](const std::atomic<int64_t>& value) {
    return [&value] {
      return static_cast<double>(value.load(std::memory_order_relaxed));
    };
  };
  struct Series {
    const char* name;
    const char* help;
    const std::atomic<int64_t>* value;
    bool gauge;
  };
  const Series series[] = {
      {"webhookd_cluster_partitions_held",
       "Delivery queue partitions this node holds a lease on.",
       &stats->partitions_held, true},
      {"webhookd_cluster_nodes_live", "Live nodes, as last counted.",
       &stats->nodes_live, true},
      {"webhookd_cluster_lease_renewals_total", "Partition leases renewed.",
       &stats->lease_renewals, false},
      {"webhookd_cluster_lease_takeovers_total",
       "Partitions taken (free, released or expired leases).",
       &stats->lease_claims, false},
      {"webhookd_cluster_lease_releases_total",
       "Partitions given up (rebalancing, shutdown).", &stats->lease_releases,
       false},
      {"webhookd_cluster_lease_losses_total",
       "Leases that expired before this node renewed them.",
       &stats->lease_losses, false},
      {"webhookd_cluster_changes_applied_total",
       "Change feed entries applied to this node's in-memory copies.",
       &stats->changes_applied, false},
      {"webhookd_cluster_change_feed_lag",
       "Change feed entries committed but not yet applied here.",
       &stats->feed_lag, true},
      {"webhookd_cluster_change_feed_age_milliseconds",
       "Time since the change feed was last read successfully.",
       &stats->feed_age_millis, true},
      {"webhookd_cluster_errors_total",
       "Failed database calls of the feed and lease threads.", &stats->errors,
       false},
  };
  for (const Series& s : series) {
    if (s.gauge) {
      RETURN_IF_ERROR(registry_.AddGaugeCallback(s.name, s.help, read(*s.value)));
    } else {
      RETURN_IF_ERROR(
          registry_.AddCounterCallback(s.name, s.help, read(*s.value)));
    }
  }
  return absl::OkStatus();
}

absl::Status ServiceMetrics::AttachDatabase(
    const storage::ClusterStore* store) {
  RETURN_IF_ERROR(registry_.AddCounterCallback(
      "webhookd_database_round_trips_total",
      "Network round trips to the database (one per pipeline of statements "
      "sent): reads, writes, leases and the change feed.",
      [store] { return static_cast<double>(store->round_trips()); }));
  return registry_.AddCounterCallback(
      "webhookd_database_commits_total",
      "Database transactions committed (a group commit counts once).",
      [store] { return static_cast<double>(store->commits()); });
}

void ServiceMetrics::RefreshDepth(const core::DeliveryQueue* queue) {
  absl::StatusOr<int64_t> depth = queue->Depth();
  if (!depth.ok()) return;  // keep the last
  absl::MutexLock lock(&depth_mu_);
  depth_ = static_cast<double>(*depth);
}

double ServiceMetrics::QueueDepth() {
  absl::MutexLock lock(&depth_mu_);
  return depth_;
}

void ServiceMetrics::FirstAttemptSent(absl::Duration since_commit) {
  commit_to_send_->Observe(Seconds(since_commit));
}

void ServiceMetrics::AttemptEnded(Outcome outcome, absl::Duration elapsed) {
  const int i = static_cast<int>(outcome);
  if (i >= 0 && i < kOutcomeCount) attempts_[i]->Increment();
  attempt_duration_->Observe(Seconds(elapsed));
}

void ServiceMetrics::OutcomesWritten(int attempts) {
  write_batch_->Observe(attempts);
}

}  // namespace webhooks::server
