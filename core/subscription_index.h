// The in-memory subscription index: every subscription's matching fields, so
// that finding who gets an event never touches disk. Rebuilt from storage at
// start-up; kept current by SubscriptionRegistry.
//
//   SubscriptionIndex index;
//   index.Upsert({.id = "sub_1", .site = "/NOAA", .resource_type = "user",
//                 .event_type = "added", .target_url = "https://a/", ...});
//   index.Match({.sites = SiteAncestors("/NOAA/NWS/OUN"),
//                .resource_types = {"employee", "user"},
//                .event_types = {"added", "object_event"}},
//               [](const SubscriptionView& s) { ... });
//
// Thread-safe: many concurrent Match calls share a reader lock; Upsert and
// Remove take it exclusively.
#ifndef WEBHOOKS_CORE_SUBSCRIPTION_INDEX_H_
#define WEBHOOKS_CORE_SUBSCRIPTION_INDEX_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "core/payload_filter.h"

namespace webhooks::core {

// What the index keeps of one subscription (all fields copied in).
struct IndexEntry {
  std::string id;
  std::string site;           // normalized
  std::string resource_type;  // token or "*"
  std::string event_type;     // token or "*"
  std::string owner;          // empty: no owner
  std::string permission;
  std::string target_url;
  std::string dialect;
  bool active = true;
  PayloadFilterPtr filter = nullptr;  // none
};

// A matched subscription, valid only during the visitor call.
struct SubscriptionView {
  std::string_view id;
  std::string_view site;
  std::string_view resource_type;
  std::string_view event_type;
  std::string_view owner;
  std::string_view permission;
  std::string_view target_url;
  std::string_view dialect;
  bool active;
  const PayloadFilterPtr* filter = nullptr;  // null: no filter
};

struct MatchQuery {
  // Candidate sites, normalized; duplicates are ignored.
  std::vector<std::string> sites;
  // Types the resource provides, most specific first.
  std::vector<std::string> resource_types;
  // Kinds of the event, most specific first.
  std::vector<std::string> event_types;
  // Also visit inactive subscriptions (for the dry run).
  bool include_inactive = false;
};

class SubscriptionIndex {
 public:
  SubscriptionIndex();
  ~SubscriptionIndex();
  SubscriptionIndex(const SubscriptionIndex&) = delete;
  SubscriptionIndex& operator=(const SubscriptionIndex&) = delete;

  // Adds the subscription, replacing any entry with the same id.
  void Upsert(const IndexEntry& entry);
  // Removes the entry with this id; no-op when absent.
  void Remove(std::string_view id);
  // Removes every entry.
  void Clear();

  // Visits each subscription whose site is one of query.sites, whose
  // resource_type is one of query.resource_types or "*", whose event_type is
  // one of query.event_types or "*", and (unless include_inactive) that is
  // active. Each subscription is visited at most once, in a deterministic
  // order: by the position of its site in query.sites, then by id. The
  // visitor must not call back into the index.
  void Match(const MatchQuery& query,
             absl::FunctionRef<void(const SubscriptionView&)> visitor) const;

  // Changes after every Upsert, Remove and Clear: matching results read
  // while it stayed the same are still current.
  uint64_t generation() const {
    return generation_.load(std::memory_order_acquire);
  }

  // Number of entries (active or not).
  size_t size() const;
  // A copy of the entry with this id, if any.
  std::optional<IndexEntry> Find(std::string_view id) const;
  // Visits every id (in no order); the visitor must not call back into the
  // index.
  void ForEachId(absl::FunctionRef<void(std::string_view)> visitor) const;
  // Approximate heap bytes held, for benchmarks and metrics.
  size_t MemoryUsage() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_SUBSCRIPTION_INDEX_H_
