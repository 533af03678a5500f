// The synthetic workload both benchmarks share: a site tree, subscriptions
// spread over it, and events at its leaves. Deterministic for a seed.
//
//   Workload w({.subscriptions = 100000});
//   for (size_t i = 0; i < w.subscription_count(); ++i) {
//     SubscriptionSpec s = w.Subscription(i);  // same i, same subscription
//   }
//   EventSpec e = w.RandomEvent(rng);
//
// Shape (see bench/README.md for why):
//  - the tree is `fanout` wide at each of `depth` levels below "/":
//    "/org3/region1/office4/dept0/team7"; with the defaults 111,111 sites;
//  - one global audit subscription at "/" gets every event (no owner);
//  - 26,200 subscriptions at depths 1-4 (20, 10, 5 and 2 per site; scaled
//    down when there are fewer than 100k in all), the rest on random leaves;
//  - a subscription's resource type is "*" 5% of the time, otherwise one of
//    32 tokens; its event type "*" 10% of the time, otherwise one of 8; so
//    about 4.5% of the subscriptions of an event's sites match its types;
//  - owners: subscriptions / 10 principals, each in group "staff";
//  - events are at a random leaf, provide ["employee","user","principal"]
//    and ["added","object_event"], carry a ~200-byte JSON
//    "webhook-delivery" body and the ACL [deny suspended *, allow
//    system.Everyone view] (so the owner's groups are looked up).
#ifndef WEBHOOKS_BENCH_WORKLOAD_H_
#define WEBHOOKS_BENCH_WORKLOAD_H_

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/subscription_index.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::bench {

struct WorkloadOptions {
  size_t subscriptions = 100000;
  int fanout = 10;
  int depth = 5;
  uint64_t seed = 42;
};

struct SubscriptionSpec {
  std::string site;
  std::string resource_type;
  std::string event_type;
  std::string owner;  // empty for the audit subscription
  std::string target_url;
};

struct AclSpec {
  bool allow;
  std::string principal;
  std::string permission;
};

struct EventSpec {
  std::string id;
  std::string site;
  std::vector<std::string> resource_types;
  std::vector<std::string> event_types;
  std::string body;  // the "webhook-delivery" representation, JSON
  std::vector<AclSpec> acl;
};

inline constexpr char kDeliveryRepresentation[] = "webhook-delivery";
inline constexpr char kOwnerGroup[] = "staff";

class Workload {
 public:
  explicit Workload(const WorkloadOptions& options);

  size_t subscription_count() const { return options_.subscriptions; }
  size_t owner_count() const { return owners_; }
  size_t leaf_count() const { return leaves_; }
  size_t site_count() const;

  // The i-th subscription (0 <= i < subscription_count()).
  SubscriptionSpec Subscription(size_t i) const;
  // The i-th owner's principal id.
  static std::string Owner(size_t i);
  // The site at `depth` (0 = "/") with index `n` among that depth's sites.
  std::string Site(int depth, uint64_t n) const;

  // An event at a uniformly random leaf, with id `id`.
  EventSpec RandomEvent(std::mt19937_64& rng, std::string id) const;

  // The domain record of an event as a publisher would submit it (before
  // the service normalizes it).
  static internal::EventRecord ToRecord(const EventSpec& spec,
                                        int64_t occur_time_micros);

  // An index entry for a subscription, with id `id`.
  static core::IndexEntry ToIndexEntry(const SubscriptionSpec& spec,
                                       std::string id);

 private:
  uint64_t SitesAt(int depth) const;

  WorkloadOptions options_;
  size_t owners_;
  uint64_t leaves_;
  // Subscriptions [start_[d], start_[d+1]) sit at depth d.
  std::vector<size_t> start_;
};

// The JSON body of the delivery benchmarks' event `seq`, padded with dots
// to `bytes` (the receiver finds "seq" in it): `delivery_bench` and
// `cluster_bench` send the same events.
std::string DeliveryEventBody(int64_t seq, size_t bytes);

}  // namespace webhooks::bench

#endif  // WEBHOOKS_BENCH_WORKLOAD_H_
