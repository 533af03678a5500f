// The service's metrics (all named webhookd_*): the DeliveryMetrics hook the
// dispatcher reports to, plus series read at scrape time from the
// dispatcher's counters and the delivery queue. Serve registry() with a
// MetricsHttpServer.
//
//   ASSIGN_OR_RETURN(auto metrics, ServiceMetrics::Create());
//   DispatcherDeps deps{..., metrics.get()};
//   ... construct the dispatcher ...
//   RETURN_IF_ERROR(metrics->Attach(&dispatcher->stats(), queue));
//
// Thread-safe. The hook's methods are lock-free (atomics only).
#ifndef WEBHOOKS_SERVER_METRICS_EXPORTER_H_
#define WEBHOOKS_SERVER_METRICS_EXPORTER_H_

#include <array>
#include <limits>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics.h"
#include "core/cluster_node.h"
#include "core/delivery_dispatcher.h"
#include "core/delivery_metrics.h"
#include "core/delivery_queue.h"
#include "server/periodic_task.h"
#include "storage/cluster_store.h"

namespace webhooks::server {

class ServiceMetrics final : public core::DeliveryMetrics {
 public:
  // `depth_refresh`: the queue depth (a count of the queue, which may be
  // long) is computed on a thread of its own every this interval, never on
  // a scrape (and once in Attach); scrapes see the last value.
  static absl::StatusOr<std::unique_ptr<ServiceMetrics>> Create(
      absl::Duration depth_refresh = absl::Seconds(5));

  // Adds the series read from `stats` and `queue`, which must outlive every
  // scrape (stop the MetricsHttpServer first) and this object (it counts the
  // queue until destroyed). Call once.
  absl::Status Attach(const core::DispatcherStats* stats,
                      const core::DeliveryQueue* queue);

  // Cluster mode: the webhookd_cluster_* series read from `stats` (which
  // must outlive every scrape). Call once.
  absl::Status AttachCluster(const core::ClusterStats* stats);
  // Cluster mode: webhookd_database_round_trips_total and
  // webhookd_database_commits_total read from `store` (which must outlive
  // every scrape). Call once.
  absl::Status AttachDatabase(const storage::ClusterStore* store);

  const MetricsRegistry& registry() const { return registry_; }

  // core::DeliveryMetrics
  void FirstAttemptSent(absl::Duration since_commit) override;
  void AttemptEnded(Outcome outcome, absl::Duration elapsed) override;
  void OutcomesWritten(int attempts) override;

 private:
  explicit ServiceMetrics(absl::Duration depth_refresh)
      : depth_refresh_(depth_refresh) {}

  // Counts the queue (on depth_task_'s thread).
  void RefreshDepth(const core::DeliveryQueue* queue)
      ABSL_LOCKS_EXCLUDED(depth_mu_);
  double QueueDepth() ABSL_LOCKS_EXCLUDED(depth_mu_);

  const absl::Duration depth_refresh_;
  MetricsRegistry registry_;
  std::array<Counter*, kOutcomeCount> attempts_{};
  Histogram* commit_to_send_ = nullptr;
  Histogram* attempt_duration_ = nullptr;
  Histogram* write_batch_ = nullptr;

  absl::Mutex depth_mu_;
  double depth_ ABSL_GUARDED_BY(depth_mu_) =
      std::numeric_limits<double>::quiet_NaN();  // until scanned
  // Declared last: stops before the members it writes go.
  std::unique_ptr<PeriodicTask> depth_task_;
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_METRICS_EXPORTER_H_
