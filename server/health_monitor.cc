#include "server/health_monitor.h"

#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace webhooks::server {

HealthMonitor::HealthMonitor(const storage::Store* store,
                             grpc::HealthCheckServiceInterface* health,
                             absl::Duration interval)
    : store_(store), health_(health), task_(interval, [this] { Poll(); }) {}

void HealthMonitor::Poll() {
  const absl::Status status = store_->Check();
  const bool serving = status.ok();
  if (serving == serving_.load(std::memory_order_acquire)) return;
  serving_.store(serving, std::memory_order_release);
  if (health_ != nullptr) health_->SetServingStatus(serving);
  std::string line = absl::StrCat(
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
      " webhookd: health ",
      serving ? "SERVING: the store can write again"
              : absl::StrCat("NOT_SERVING: ", status.ToString()),
      "\n");
  fputs(line.c_str(), stderr);
}

}  // namespace webhooks::server
