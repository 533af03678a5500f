// Committing (TransactionLog::Commit) and publishing (TransactionLog::Publish,
// a new transaction committed in the same write): matching the events and
// storing one pending delivery per recipient; see transaction_log.h.
#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "core/conflict_retry.h"
#include "core/delivery_order.h"
#include "core/delivery_queue.h"
#include "core/errors.h"
#include "core/event_validation.h"
#include "core/transaction_log.h"
#include "storage/key_codec.h"

namespace webhooks::core {
namespace {

using internal::DeliveryRecord;

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

}  // namespace

absl::Status TransactionLog::StageDeliveries(
    const TransactionRecord& transaction,
    const std::vector<PreparedEvent>& events, absl::Time now,
    EventLookup event_of, storage::WriteBatch& batch,
    StagedDeliveries& staged) const {
  absl::flat_hash_map<std::string, std::string> representation_cache;
  DeliveryRecord delivery;  // reused: Clear keeps its strings' buffers
  const int partitions = queue_ != nullptr ? queue_->partitions() : 1;
  JsonPayload payload;
  for (const PreparedEvent& event : events) {
    for (const Recipient& recipient : event.recipients) {
      delivery.Clear();
      delivery.set_id(DeliveryQueue::NewDeliveryId(
          now, recipient.subscription_id, partitions, *random_));
      delivery.set_subscription_id(recipient.subscription_id);
      delivery.set_transaction_id(transaction.id());
      delivery.set_transaction_owner(transaction.owner());
      delivery.set_event_id(event.id);
      delivery.set_state(DeliveryRecord::PENDING);
      // Due at once: at the millisecond its id carries, so that the queue
      // alone holds it until it changes (see DeliveryQueue).
      delivery.set_next_attempt_micros(
          *DeliveryQueue::InitialDueMicros(delivery.id()));
      delivery.set_create_time_micros(Micros(now));
      auto cached = representation_cache.find(recipient.dialect);
      if (cached == representation_cache.end()) {
        cached = representation_cache
                     .emplace(recipient.dialect,
                              DialectRepresentation(recipient.dialect))
                     .first;
      }
      const bool carried =
          std::find(event.representations.begin(), event.representations.end(),
                    cached->second) != event.representations.end();
      delivery.set_representation(
          carried ? cached->second : std::string(kDeliveryRepresentation));
      delivery.set_target_url(recipient.target_url);
      delivery.set_dialect(recipient.dialect);
      ++staged.created;
      const std::optional<std::string> key_path =
          ordering_ != nullptr && sequencer_ != nullptr
              ? ordering_->KeyPath(recipient.subscription_id)
              : std::nullopt;
      if (!key_path.has_value()) {
        DeliveryQueue::StageUpdate(nullptr, delivery, batch, &staged.queued_min,
                                   partitions);
        continue;
      }
      if (!key_path->empty()) {
        // Its ordering key comes from the payload.
        ASSIGN_OR_RETURN(const EventRecord* record, event_of(event));
        delivery.set_order_key(OrderKeyOf(*record, delivery.representation(),
                                          *key_path, payload));
      }
      staged.ordered.push_back(delivery);
    }
  }
  return absl::OkStatus();
}

absl::Status TransactionLog::WriteCommitted(storage::WriteBatch& batch,
                                            StagedDeliveries& staged) {
  if (staged.ordered.empty()) {
    RETURN_IF_ERROR(store_->Write(batch));
  } else {
    std::vector<DeliveryRecord*> numbered;
    for (DeliveryRecord& d : staged.ordered) numbered.push_back(&d);
    const int partitions = queue_ != nullptr ? queue_->partitions() : 1;
    RETURN_IF_ERROR(WriteOrdered(*sequencer_, batch, numbered, [&](auto& b) {
      for (const DeliveryRecord& d : staged.ordered) {
        DeliveryQueue::StageUpdate(nullptr, d, b, &staged.queued_min,
                                   partitions);
      }
    }));
  }
  if (queue_ != nullptr) queue_->NoteEnqueued(staged.queued_min);
  return absl::OkStatus();
}

void TransactionLog::MarkCommitted(TransactionRecord& record,
                                   int64_t deliveries, absl::Time now) const {
  record.set_state(TransactionRecord::COMMITTED);
  record.set_delivery_count(deliveries);
  record.set_resolve_time_micros(Micros(now));
  record.set_deadline_micros(Micros(now + options_.retention));
}

absl::StatusOr<CommitResult> TransactionLog::Commit(
    std::string_view owner, std::string_view transaction_id) {
  RETURN_IF_ERROR(
      ValidateTransactionId("transaction_id", transaction_id, limits_));
  return RetryOnConflict([&]() -> absl::StatusOr<CommitResult> {
    absl::MutexLock lock(&LockFor(transaction_id));
    const absl::Time now = clock_->Now();
    ASSIGN_OR_RETURN(std::optional<TransactionRecord> existing,
                     Find(owner, transaction_id));
    if (!existing.has_value()) return error::TransactionNotFound(transaction_id);
    if (existing->state() == TransactionRecord::COMMITTED) {
      return CommitResult{*existing, existing->delivery_count()};
    }
    if (existing->state() == TransactionRecord::PREPARED &&
        existing->expire_time_micros() <= Micros(now)) {
      RETURN_IF_ERROR(Expire(*existing));
      return error::TransactionResolved(transaction_id, "expired", "committed");
    }
    if (existing->state() != TransactionRecord::PREPARED) {
      return error::TransactionResolved(
          transaction_id, TransactionStateName(existing->state()), "committed");
    }

    // Matching happens at commit: what Prepare matched is reused while nothing
    // matching reads has changed since; otherwise the events are read back
    // and matched again.
    const std::string key = TransactionKeyOf(*existing);
    const EventMatcher::State state = matcher_->CurrentState();
    std::optional<std::vector<PreparedEvent>> events =
        prepared_.Take(key, existing->event_count(), state);
    if (!events.has_value()) {
      ASSIGN_OR_RETURN(events, MatchStored(key));
    }

    // Ordered subscriptions' keys come from the stored event, read once
    // per event: without it the commit would put every delivery on the
    // empty key.
    std::optional<EventRecord> stored;
    auto stored_event =
        [&](const PreparedEvent& event) -> absl::StatusOr<const EventRecord*> {
      if (stored.has_value() && stored->id() == event.id) return &*stored;
      stored.reset();
      ASSIGN_OR_RETURN(
          std::optional<std::string> bytes,
          store_->Get(storage::Column::kTransactionEvents,
                      storage::keys::TransactionEvent(key, event.id)));
      EventRecord parsed;
      if (!bytes.has_value() || !ParseEvent(*bytes, parsed)) {
        return absl::DataLossError(
            StrCat("event \"", event.id, "\" of transaction \"",
                   transaction_id, "\" is ",
                   bytes.has_value() ? "corrupt" : "missing",
                   " in the store; nothing was committed"));
      }
      return &stored.emplace(std::move(parsed));
    };
    storage::WriteBatch batch;
    StagedDeliveries staged;
    RETURN_IF_ERROR(
        StageDeliveries(*existing, *events, now, stored_event, batch, staged));
    TransactionRecord record = *existing;
    MarkCommitted(record, staged.created, now);
    StageTransaction(&*existing, record, batch);
    RETURN_IF_ERROR(WriteCommitted(batch, staged));
    return CommitResult{std::move(record), staged.created};
  });
}

absl::StatusOr<CommitResult> TransactionLog::Publish(
    std::string_view owner, std::vector<EventRecord> events,
    std::vector<EventResult>* results) {
  RETURN_IF_ERROR(NormalizeEvents(events));
  if (events.size() > static_cast<size_t>(limits_.max_events_per_transaction)) {
    return error::LimitExceeded("events", limits_.max_events_per_transaction,
                                "events per transaction");
  }
  const std::string id =
      NewId("pub_", absl::ToUnixMillis(clock_->Now()), *random_);
  // One write holds the transaction, committed, its events and their
  // deliveries: nothing of it is stored unless all of it is.
  return RetryOnConflict([&]() -> absl::StatusOr<CommitResult> {
    absl::MutexLock lock(&LockFor(id));
    const absl::Time now = clock_->Now();
    TransactionRecord record;
    record.set_id(id);
    record.set_owner(std::string(owner));
    record.set_create_time_micros(Micros(now));
    record.set_expire_time_micros(Micros(now + options_.default_ttl));
    record.set_event_count(static_cast<int64_t>(events.size()));
    const std::string key = TransactionKeyOf(record);

    storage::WriteBatch batch;
    const EventMatcher::State state = matcher_->CurrentState();
    std::vector<PreparedEvent> matched;
    matched.reserve(events.size());
    std::vector<EventResult> event_results;
    event_results.reserve(events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      event_results.push_back(StageNewEvent(
          storage::keys::TransactionEvent(key, events[i].id()), i, state,
          events[i], matched, batch));
    }
    auto event_of =
        [&](const PreparedEvent& event) -> absl::StatusOr<const EventRecord*> {
      return &events[event.seq];
    };
    StagedDeliveries staged;
    RETURN_IF_ERROR(
        StageDeliveries(record, matched, now, event_of, batch, staged));
    MarkCommitted(record, staged.created, now);
    StageTransaction(nullptr, record, batch);
    RETURN_IF_ERROR(WriteCommitted(batch, staged));
    if (results != nullptr) *results = std::move(event_results);
    return CommitResult{std::move(record), staged.created};
  });
}

}  // namespace webhooks::core
