// Keeps grpc.health.v1's overall status in step with the store: polls
// Store::Check() and reports NOT_SERVING while the store cannot be written
// (a full disk, a failed write RocksDB has not recovered from, a removed
// data directory), SERVING once it can again. Each change is logged, with
// the reason, to stderr.
//
//   HealthMonitor monitor(store, server->GetHealthCheckService());
#ifndef WEBHOOKS_SERVER_HEALTH_MONITOR_H_
#define WEBHOOKS_SERVER_HEALTH_MONITOR_H_

#include <atomic>

#include "absl/time/time.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/periodic_task.h"
#include "storage/store.h"

namespace webhooks::server {

class HealthMonitor {
 public:
  static constexpr absl::Duration kInterval = absl::Milliseconds(500);

  // `store` and `health` must outlive the monitor.
  HealthMonitor(const storage::Store* store,
                grpc::HealthCheckServiceInterface* health,
                absl::Duration interval = kInterval);

  bool serving() const { return serving_.load(std::memory_order_acquire); }

 private:
  void Poll();

  const storage::Store* const store_;
  grpc::HealthCheckServiceInterface* const health_;
  std::atomic<bool> serving_{true};
  PeriodicTask task_;  // last: stops first
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HEALTH_MONITOR_H_
