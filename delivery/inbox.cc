#include "delivery/inbox.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace webhooks::delivery {

bool Inbox::Push(Pending& pending, bool* was_empty) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  if (was_empty != nullptr) *was_empty = pending_.empty();
  pending_.push_back(std::move(pending));
  return true;
}

Inbox::Batch Inbox::Take() {
  Batch batch;
  absl::MutexLock lock(&mu_);
  batch.pending.swap(pending_);
  pending_.swap(spare_);
  batch.stopping = stopping_;
  batch.deadline = deadline_;
  return batch;
}

void Inbox::Recycle(std::vector<Pending> taken) {
  // A burst's vector is not kept: its storage would stay allocated.
  constexpr size_t kMaxKeptCapacity = 4096;
  taken.clear();
  if (taken.capacity() > kMaxKeptCapacity) return;
  absl::MutexLock lock(&mu_);
  if (taken.capacity() > spare_.capacity()) spare_.swap(taken);
}

void Inbox::Stop(absl::Duration grace) {
  const absl::Time deadline =
      absl::Now() + std::max(grace, absl::ZeroDuration());
  absl::MutexLock lock(&mu_);
  if (!stopping_ || deadline < deadline_) deadline_ = deadline;
  stopping_ = true;
}

}  // namespace webhooks::delivery
