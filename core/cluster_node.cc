#include "core/cluster_node.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

#include "common/status_macros.h"
#include "common/strings.h"

namespace webhooks::core {
namespace {

using Steady = std::chrono::steady_clock;

constexpr int kFeedBatch = 1000;
constexpr auto kTrimInterval = std::chrono::minutes(1);

Steady::duration ToSteady(absl::Duration d) {
  return std::chrono::duration_cast<Steady::duration>(
      absl::ToChronoNanoseconds(d));
}

}  // namespace

ClusterNode::ClusterNode(storage::ClusterStore* cluster, Mirrors mirrors,
                         const ClusterOptions& options)
    : cluster_(cluster), mirrors_(mirrors), options_(options) {}

ClusterNode::~ClusterNode() { Stop(); }

absl::StatusOr<uint64_t> ClusterNode::FeedPosition(
    storage::ClusterStore* cluster) {
  ASSIGN_OR_RETURN(storage::ChangeBatch batch,
                   cluster->ChangesAfter(UINT64_MAX - 1, 1));
  return batch.latest;
}

void ClusterNode::Start(uint64_t seen) {
  {
    absl::MutexLock lock(&feed_mu_);
    seen_ = seen;
    last_trim_ = Steady::now();
  }
  absl::MutexLock lock(&mu_);
  if (started_) return;
  started_ = true;
  feed_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "cluster-feed");
    FeedLoop();
  });
  lease_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "cluster-lease");
    LeaseLoop();
  });
}

void ClusterNode::Stop() {
  std::vector<int> partitions;
  {
    absl::MutexLock lock(&mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
    cv_.SignalAll();
  }
  if (feed_thread_.joinable()) feed_thread_.join();
  if (lease_thread_.joinable()) lease_thread_.join();
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [partition, held] : held_) partitions.push_back(partition);
    held_.clear();
    stats_.partitions_held = 0;
  }
  // Best effort: if the database cannot be reached, the leases expire.
  if (!partitions.empty()) {
    absl::Status released = cluster_->ReleaseLeases(options_.node_id, partitions);
    if (released.ok()) stats_.lease_releases += partitions.size();
  }
  (void)cluster_->Leave(options_.node_id);
}

void ClusterNode::SetOnAcquired(std::function<void()> callback) {
  absl::MutexLock lock(&mu_);
  on_acquired_ = std::move(callback);
}

std::vector<int> ClusterNode::Owned() const {
  const Steady::time_point usable_until =
      Steady::now() + ToSteady(options_.safety_margin);
  std::vector<int> owned;
  absl::MutexLock lock(&mu_);
  for (const auto& [partition, held] : held_) {
    if (!held.draining && usable_until < held.valid_until) {
      owned.push_back(partition);
    }
  }
  std::sort(owned.begin(), owned.end());
  return owned;
}

bool ClusterNode::Holds(int partition) const {
  const Steady::time_point usable_until =
      Steady::now() + ToSteady(options_.safety_margin);
  absl::MutexLock lock(&mu_);
  auto it = held_.find(partition);
  return it != held_.end() && usable_until < it->second.valid_until;
}

bool ClusterNode::Sleep(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  const absl::Time until = absl::Now() + d;
  while (!stopping_) {
    if (cv_.WaitWithDeadline(&mu_, until)) break;
  }
  return !stopping_;
}

void ClusterNode::FeedLoop() {
  const Steady::time_point started = Steady::now();
  Steady::time_point last_read = started;
  do {
    if (PollFeed().ok()) {
      last_read = Steady::now();
    } else {
      ++stats_.errors;
    }
    stats_.feed_age_millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 Steady::now() - last_read)
                                 .count();
  } while (Sleep(options_.feed_poll));
}

void ClusterNode::LeaseLoop() {
  do {
    if (!Rebalance().ok()) ++stats_.errors;
  } while (Sleep(options_.heartbeat));
}

absl::Status ClusterNode::Apply(const storage::Change& change) {
  switch (change.column) {
    case storage::Column::kSubscriptions:
      return mirrors_.registry->Refresh(change.key);
    case storage::Column::kPrincipals:
      return mirrors_.principals->Refresh(change.key);
    case storage::Column::kDialects:
      return mirrors_.dialects->Refresh(change.key);
    case storage::Column::kApiKeys:
      return mirrors_.api_keys->Refresh(change.key);
    default:
      return absl::OkStatus();  // not mirrored
  }
}

absl::Status ClusterNode::PollFeed() {
  absl::MutexLock lock(&feed_mu_);
  while (true) {
    ASSIGN_OR_RETURN(storage::ChangeBatch batch,
                     cluster_->ChangesAfter(seen_, kFeedBatch));
    if (batch.gap) {
      // Changes were trimmed before this node read them: load everything.
      RETURN_IF_ERROR(mirrors_.api_keys->Reload());
      RETURN_IF_ERROR(mirrors_.dialects->Reload());
      RETURN_IF_ERROR(mirrors_.principals->Reload());
      RETURN_IF_ERROR(mirrors_.registry->Reload());
      ++stats_.feed_reloads;
      seen_ = batch.latest;
      continue;
    }
    for (const storage::Change& change : batch.changes) {
      RETURN_IF_ERROR(Apply(change));
      seen_ = change.seq;
      ++stats_.changes_applied;
    }
    stats_.feed_lag = batch.latest > seen_
                          ? static_cast<int64_t>(batch.latest - seen_)
                          : 0;
    if (batch.changes.size() < static_cast<size_t>(kFeedBatch)) break;
  }
  if (Steady::now() - last_trim_ >= kTrimInterval) {
    last_trim_ = Steady::now();
    RETURN_IF_ERROR(cluster_->TrimChanges(options_.feed_retention).status());
  }
  return absl::OkStatus();
}

absl::Status ClusterNode::Rebalance() {
  const std::string& node = options_.node_id;
  const Steady::duration ttl = ToSteady(options_.lease_ttl);
  // Times are taken before each call: the database's expiry is at least
  // that far ahead of them.
  ASSIGN_OR_RETURN(int live, cluster_->Heartbeat(node, options_.lease_ttl));
  stats_.nodes_live = live;
  Steady::time_point sent = Steady::now();
  ASSIGN_OR_RETURN(std::vector<storage::PartitionLease> renewed,
                   cluster_->RenewLeases(node, options_.lease_ttl));
  stats_.lease_renewals += renewed.size();

  std::vector<int> to_release;
  int active = 0;
  {
    absl::MutexLock lock(&mu_);
    absl::flat_hash_map<int, Held> next;
    for (const storage::PartitionLease& lease : renewed) {
      Held held{lease.epoch, sent + ttl, false};
      if (auto it = held_.find(lease.partition); it != held_.end()) {
        held.draining = it->second.draining;
      }
      if (held.draining) {
        to_release.push_back(lease.partition);
        continue;  // drained for a heartbeat: given up below
      }
      next.emplace(lease.partition, held);
    }
    for (const auto& [partition, held] : held_) {
      if (!next.contains(partition) &&
          std::find(to_release.begin(), to_release.end(), partition) ==
              to_release.end()) {
        ++stats_.lease_losses;
      }
    }
    held_ = std::move(next);
    active = static_cast<int>(held_.size());
    stats_.partitions_held = active;
  }
  if (!to_release.empty()) {
    RETURN_IF_ERROR(cluster_->ReleaseLeases(node, to_release));
    stats_.lease_releases += to_release.size();
  }

  const int partitions = cluster_->partition_count();
  const int target = (partitions + std::max(live, 1) - 1) / std::max(live, 1);
  if (active < target) {
    sent = Steady::now();
    ASSIGN_OR_RETURN(
        std::vector<storage::PartitionLease> claimed,
        cluster_->ClaimLeases(node, target - active, options_.lease_ttl));
    if (claimed.empty()) return absl::OkStatus();
    std::function<void()> on_acquired;
    {
      absl::MutexLock lock(&mu_);
      for (const storage::PartitionLease& lease : claimed) {
        held_[lease.partition] = Held{lease.epoch, sent + ttl, false};
      }
      stats_.partitions_held = static_cast<int64_t>(held_.size());
      on_acquired = on_acquired_;
    }
    stats_.lease_claims += claimed.size();
    if (on_acquired) on_acquired();
  } else if (active > target) {
    // Give up the surplus gently: no new work from them now, released at
    // the next round, so what is in flight can finish and be written.
    absl::MutexLock lock(&mu_);
    std::vector<int> mine;
    for (const auto& [partition, held] : held_) mine.push_back(partition);
    std::sort(mine.rbegin(), mine.rend());
    for (int i = 0; i < active - target; ++i) held_[mine[i]].draining = true;
  }
  return absl::OkStatus();
}

}  // namespace webhooks::core
