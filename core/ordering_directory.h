// Which subscriptions are ordered (DeliveryControl.ordering) and where
// their ordering key is, for the commit that creates their deliveries. The
// subscription registry keeps it up to date with every change it mirrors.
//
//   if (std::optional<std::string> path = directory.KeyPath(sub_id)) {
//     ordered; *path empty: one order for the whole subscription
//   }
//
// Thread-safe.
#ifndef WEBHOOKS_CORE_ORDERING_DIRECTORY_H_
#define WEBHOOKS_CORE_ORDERING_DIRECTORY_H_

#include <atomic>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/strings.h"

namespace webhooks::core {

class OrderingDirectory {
 public:
  // Records a subscription's setting (`ordered` false: forgets it).
  void Set(std::string_view subscription_id, bool ordered,
           std::string_view key_path) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (ordered) {
      key_paths_[AsAbsl(subscription_id)] = std::string(key_path);
    } else {
      key_paths_.erase(AsAbsl(subscription_id));
    }
    count_.store(key_paths_.size(), std::memory_order_release);
  }
  // The key path of an ordered subscription (empty: no key); nullopt when
  // it is not ordered.
  std::optional<std::string> KeyPath(std::string_view subscription_id) const
      ABSL_LOCKS_EXCLUDED(mu_) {
    if (count_.load(std::memory_order_acquire) == 0) return std::nullopt;
    absl::ReaderMutexLock lock(&mu_);
    auto it = key_paths_.find(AsAbsl(subscription_id));
    if (it == key_paths_.end()) return std::nullopt;
    return it->second;
  }

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::string> key_paths_ ABSL_GUARDED_BY(mu_);
  std::atomic<size_t> count_{0};
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_ORDERING_DIRECTORY_H_
