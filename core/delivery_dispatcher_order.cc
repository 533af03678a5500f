// Ordered delivery in the dispatcher (DeliveryControl.ordering): a
// delivery with an order_seq is sent only in its turn — when it is the head
// of its lane (subscription, ordering key) in the durable index and no
// other delivery of the lane is being sent — and its followers wait in
// order_ (pending on disk, skipped by scans as busy) until its outcome is
// final and written. Retries keep the turn's order: a head scheduled for a
// retry stays the head. The index, not memory, decides whose turn it is,
// so order holds across restarts and `kill -9` (memory starts empty, the
// index is read again) and across nodes (a lane's subscription belongs to
// one queue partition, whose owner alone sends).
#include <utility>

#include "common/status_macros.h"
#include "core/conflict_retry.h"
#include "core/delivery_dispatcher.h"

namespace webhooks::core {

void DeliveryDispatcher::DispatchOrdered(DeliveryRecord delivery,
                                         FetchCache& cache, OrderHeads& heads,
                                         bool& storage_trouble) {
  absl::StatusOr<const SubscriptionRecord*> subscription =
      SubscriptionOf(delivery.subscription_id(), cache);
  const std::string lane = OrderLaneOf(delivery);
  // Gone or inactive: no turn to wait for (Launch resolves it, which ends
  // its place in the index).
  if (!subscription.ok() || !(*subscription)->active()) {
    Dispatch(std::move(delivery), cache, storage_trouble);
    absl::MutexLock lock(&mu_);
    if (order_.Front(lane) != nullptr) {
      order_.MarkReleased(lane);  // its followers are resolved too
      woken_ = true;
    }
    return;
  }
  const std::string id = delivery.id();
  {
    absl::MutexLock lock(&mu_);
    if (Busy(id)) return;
    if (order_.Sending(lane)) {
      order_.Wait(std::move(delivery));
      return;
    }
  }
  auto head = heads.find(lane);
  if (head == heads.end()) {
    absl::StatusOr<std::optional<OrderHead>> read = ReadOrderHead(
        *deps_.store, delivery.subscription_id(), delivery.order_key());
    if (!read.ok()) {
      // Storage trouble: it stays pending and is read again.
      deps_.queue->NoteEnqueued(delivery.next_attempt_micros());
      storage_trouble = true;
      return;
    }
    head = heads.emplace(lane, *std::move(read)).first;
  }
  // Its own entry missing (no head, or a later one) would hold it forever:
  // it goes.
  const bool its_turn =
      !head->second.has_value() || head->second->seq >= delivery.order_seq();
  {
    absl::MutexLock lock(&mu_);
    if (Busy(id)) return;
    if (!its_turn || order_.Sending(lane)) {
      order_.Wait(std::move(delivery));
      return;
    }
    order_.StartSending(lane, id);
  }
  // Its turn may end before this fetch reads the next of the lane: that
  // one reads the index again.
  heads.erase(lane);
  Dispatch(std::move(delivery), cache, storage_trouble);
  EndTurnIfIdle(lane, id);
}

void DeliveryDispatcher::SendReleased(FetchCache& cache,
                                      bool& storage_trouble) {
  std::vector<std::string> lanes;
  int64_t overflow;
  {
    absl::MutexLock lock(&mu_);
    lanes = order_.TakeReleased();
    if (lanes.empty()) return;
    // Followers not kept in memory may have their turn now: the queue reads
    // them again.
    overflow = order_.TakeOverflow();
  }
  deps_.queue->NoteEnqueued(overflow);
  for (size_t i = 0; i < lanes.size(); ++i) {
    const std::string& lane = lanes[i];
    std::string subscription_id, order_key;
    uint64_t seq = 0;
    {
      absl::MutexLock lock(&mu_);
      if (draining_ || Held() >= static_cast<size_t>(options_.max_leased)) {
        // Release wakes the fetcher once there is room.
        for (size_t j = i; j < lanes.size(); ++j) order_.MarkReleased(lanes[j]);
        return;
      }
      const DeliveryRecord* front = order_.Front(lane);
      if (front == nullptr || order_.Sending(lane)) continue;
      subscription_id = front->subscription_id();
      order_key = front->order_key();
      seq = front->order_seq();
    }
    if (absl::StatusOr<const SubscriptionRecord*> subscription =
            SubscriptionOf(subscription_id, cache);
        !subscription.ok() || !(*subscription)->active()) {
      // Nothing to wait for any more: each is resolved (Launch).
      std::vector<DeliveryRecord> followers;
      {
        absl::MutexLock lock(&mu_);
        while (order_.Front(lane) != nullptr) {
          followers.push_back(order_.PopFront(lane));
        }
      }
      for (DeliveryRecord& d : followers) {
        Dispatch(std::move(d), cache, storage_trouble);
      }
      continue;
    }
    absl::StatusOr<std::optional<OrderHead>> head =
        ReadOrderHead(*deps_.store, subscription_id, order_key);
    if (!head.ok()) {
      absl::MutexLock lock(&mu_);
      order_.MarkReleased(lane);  // looked at again at the next poll
      storage_trouble = true;
      continue;
    }
    // Another delivery is the head (pending, not yet due or not read yet):
    // the followers go on waiting for it.
    if (head->has_value() && (*head)->seq < seq) continue;
    DeliveryRecord next;
    {
      absl::MutexLock lock(&mu_);
      const DeliveryRecord* front = order_.Front(lane);
      if (front == nullptr || front->order_seq() != seq ||
          order_.Sending(lane)) {
        continue;
      }
      next = order_.PopFront(lane);
      // Its partition passed to another node while it waited: that node
      // sends it, after reading the index itself; it stays on disk here.
      if (!deps_.queue->Holds(next)) continue;
      order_.StartSending(lane, next.id());
    }
    const std::string id = next.id();
    Dispatch(std::move(next), cache, storage_trouble);
    EndTurnIfIdle(lane, id);
  }
}

void DeliveryDispatcher::EndTurnIfIdle(const std::string& lane,
                                       const std::string& id) {
  absl::MutexLock lock(&mu_);
  if (order_.SendingId(lane) != id || leased_.contains(id) ||
      writing_.contains(id) || waiting_.Contains(id)) {
    return;
  }
  // Marked even with no follower waiting yet: one this fetch is about to
  // hold back is looked at by the next.
  if (order_.EndSending(lane, id)) {
    order_.MarkReleased(lane);
    woken_ = true;
    cv_.SignalAll();
  }
}

void DeliveryDispatcher::EndTurns(const std::vector<TurnEnd>& ends) {
  absl::MutexLock lock(&mu_);
  bool any = false;
  for (const TurnEnd& end : ends) {
    if (order_.EndSending(end.lane, end.id) && end.released) {
      order_.MarkReleased(end.lane);
      any = true;
    }
  }
  if (any) {
    woken_ = true;
    cv_.SignalAll();
  }
}

absl::Status DeliveryDispatcher::WriteRedeliveries(
    storage::WriteBatch& batch, std::vector<DeliveryRecord*> ordered,
    absl::FunctionRef<void(storage::WriteBatch&)> stage) {
  if (ordered.empty() || deps_.sequencer == nullptr) {
    for (DeliveryRecord* d : ordered) d->set_order_seq(0);
    stage(batch);
    return deps_.store->Write(batch);
  }
  // A conflict (another node numbering the same subscription) writes
  // nothing: number and stage again on a copy of what was given.
  const storage::WriteBatch given = batch;
  return RetryOnConflict([&]() -> absl::Status {
    storage::WriteBatch attempt = given;
    absl::Status status = WriteOrdered(*deps_.sequencer, attempt, ordered, stage);
    if (status.ok()) batch = std::move(attempt);
    return status;
  });
}

}  // namespace webhooks::core
