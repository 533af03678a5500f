#include "tests/delivery_reader.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/delivery_queue.h"
#include "storage/rocksdb_store.h"

namespace webhooks::e2e {
namespace {

// Far enough ahead that every pending delivery is due, whatever its backoff.
constexpr absl::Duration kHorizon = absl::Hours(24 * 365 * 10);
constexpr int kMaxDeliveries = 1000000;

}  // namespace

absl::StatusOr<std::vector<internal::DeliveryRecord>> ReadPendingDeliveries(
    const std::string& data_dir) {
  absl::StatusOr<storage::StorePtr> store =
      storage::RocksDbStore::Open({.path = data_dir});
  if (!store.ok()) return store.status();
  core::DeliveryQueue queue(store->get());
  absl::StatusOr<std::vector<internal::DeliveryRecord>> due =
      queue.Due(absl::Now() + kHorizon, kMaxDeliveries);
  if (!due.ok()) return due.status();
  absl::StatusOr<int64_t> depth = queue.Depth();
  if (!depth.ok()) return depth.status();
  if (*depth != static_cast<int64_t>(due->size())) {
    return absl::InternalError(absl::StrCat("queue depth ", *depth,
                                            " but Due() listed ", due->size()));
  }
  return due;
}

std::vector<EventSubscription> EventSubscriptionPairs(
    const std::vector<internal::DeliveryRecord>& deliveries) {
  std::vector<EventSubscription> pairs;
  pairs.reserve(deliveries.size());
  for (const internal::DeliveryRecord& delivery : deliveries) {
    pairs.emplace_back(delivery.event_id(), delivery.subscription_id());
  }
  return pairs;
}

}  // namespace webhooks::e2e
