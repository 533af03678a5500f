// One node of a cluster: many webhookd processes sharing one store
// (storage::ClusterStore, PostgreSQL). Two jobs, each on its own thread:
//
// - The change feed: every `feed_poll` it reads the changes other nodes
//   committed to subscriptions, principals, dialects and API keys (a key
//   revoked through one node is refused by the others once read) and
//   refreshes this
//   node's in-memory copies (the SubscriptionIndex that matching reads), so
//   a change made through any node is matched by every node within about
//   one poll (plus the database's round trip).
// - Partition leases: every `heartbeat` it records that the node is alive,
//   renews the leases it holds, and takes or gives up partitions of the
//   delivery queue so that each live node holds about partitions / nodes.
//   A lease lives `lease_ttl` on the database's clock; a node that stops
//   renewing (killed, cut off) loses its partitions to the others once it
//   expires. The node itself stops sending from a partition, and stops
//   writing outcomes of what it took from it, `safety_margin` before its own
//   (conservative, monotonic-clock) estimate of the expiry, so two nodes
//   never write one partition's outcomes at once. A partition being given
//   up is first drained: no new work is taken from it for one heartbeat,
//   then it is released.
//
//   ClusterNode node(cluster_store, {registry, principals, dialects, keys}, opts);
//   ASSIGN_OR_RETURN(uint64_t seen, ClusterNode::FeedPosition(cluster_store));
//   ... open the registries (they load everything) ...
//   node.Start(seen);
//   queue.SetOwnership(&node);
//   ...
//   node.Stop();   // releases its partitions at once for the others
//
// Thread-safe.
#ifndef WEBHOOKS_CORE_CLUSTER_NODE_H_
#define WEBHOOKS_CORE_CLUSTER_NODE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/api_key_registry.h"
#include "core/delivery_queue.h"
#include "core/dialect_catalog.h"
#include "core/principal_directory.h"
#include "core/subscription_registry.h"
#include "storage/cluster_store.h"

namespace webhooks::core {

struct ClusterOptions {
  // Unique among the nodes; say, host:port plus a random suffix.
  std::string node_id;
  absl::Duration lease_ttl = absl::Seconds(6);
  // How often leases are renewed and partitions rebalanced.
  absl::Duration heartbeat = absl::Seconds(1);
  // A partition is no longer used this long before its lease may expire.
  absl::Duration safety_margin = absl::Seconds(2);
  // How often the change feed is read.
  absl::Duration feed_poll = absl::Milliseconds(100);
  // Changes older than this are trimmed from the feed (by any node).
  absl::Duration feed_retention = absl::Hours(1);
};

// For the metrics endpoint (webhookd_cluster_*). Monotonic unless noted.
struct ClusterStats {
  std::atomic<int64_t> partitions_held{0};  // gauge
  std::atomic<int64_t> nodes_live{0};       // gauge, as last counted
  std::atomic<int64_t> lease_renewals{0};
  std::atomic<int64_t> lease_claims{0};     // partitions taken
  std::atomic<int64_t> lease_releases{0};   // partitions given up
  std::atomic<int64_t> lease_losses{0};     // expired before renewal
  std::atomic<int64_t> changes_applied{0};
  std::atomic<int64_t> feed_reloads{0};     // full reloads after a gap
  std::atomic<int64_t> feed_lag{0};         // gauge: changes not yet applied
  std::atomic<int64_t> feed_age_millis{0};  // gauge: since the feed was read
  std::atomic<int64_t> errors{0};           // failed database calls
};

class ClusterNode final : public PartitionOwnership {
 public:
  struct Mirrors {
    SubscriptionRegistry* registry;
    PrincipalDirectory* principals;
    DialectCatalog* dialects;
    ApiKeyRegistry* api_keys;
  };

  // The pointers must outlive the node.
  ClusterNode(storage::ClusterStore* cluster, Mirrors mirrors,
              const ClusterOptions& options);
  // Stop() when still running.
  ~ClusterNode() override;

  // The feed's newest seq: read it before the in-memory copies load
  // everything, and Start from it, so no change falls between the two.
  static absl::StatusOr<uint64_t> FeedPosition(storage::ClusterStore* cluster);

  // Starts both threads; the feed is read from after `seen`.
  void Start(uint64_t seen) ABSL_LOCKS_EXCLUDED(mu_);
  // Stops both threads, releases every partition and leaves the cluster.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // Called (on the lease thread) after partitions were taken: caches of
  // per-subscription state those partitions' previous owner changed must be
  // dropped, and the dispatcher woken.
  void SetOnAcquired(std::function<void()> callback) ABSL_LOCKS_EXCLUDED(mu_);

  // PartitionOwnership.
  std::vector<int> Owned() const override ABSL_LOCKS_EXCLUDED(mu_);
  bool Holds(int partition) const override ABSL_LOCKS_EXCLUDED(mu_);

  // Reads and applies the feed once, now (tests; the thread does it too).
  absl::Status PollFeed() ABSL_LOCKS_EXCLUDED(feed_mu_);
  // One lease round, now (tests; the thread does it too).
  absl::Status Rebalance() ABSL_LOCKS_EXCLUDED(mu_);

  const ClusterStats& stats() const { return stats_; }
  const std::string& node_id() const { return options_.node_id; }

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  struct Held {
    int64_t epoch = 0;
    SteadyTime valid_until;  // local estimate of the lease's expiry
    bool draining = false;   // being given up: no new work from it
  };

  void FeedLoop();
  void LeaseLoop();
  bool Sleep(absl::Duration d) ABSL_LOCKS_EXCLUDED(mu_);  // false: stopping
  absl::Status Apply(const storage::Change& change);

  storage::ClusterStore* const cluster_;
  const Mirrors mirrors_;
  const ClusterOptions options_;
  ClusterStats stats_;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<int, Held> held_ ABSL_GUARDED_BY(mu_);
  std::function<void()> on_acquired_ ABSL_GUARDED_BY(mu_);

  absl::Mutex feed_mu_;  // one feed reader at a time
  uint64_t seen_ ABSL_GUARDED_BY(feed_mu_) = 0;
  std::chrono::steady_clock::time_point last_trim_ ABSL_GUARDED_BY(feed_mu_);

  std::thread feed_thread_;
  std::thread lease_thread_;
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_CLUSTER_NODE_H_
