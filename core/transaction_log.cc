#include "core/transaction_log.h"

#include <algorithm>
#include <functional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "core/conflict_retry.h"
#include "core/delivery_order.h"
#include "core/delivery_queue.h"
#include "core/errors.h"
#include "core/event_validation.h"
#include "storage/key_codec.h"

namespace webhooks::core {
namespace {

using storage::Column;
using internal::DeliveryRecord;

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

std::string DeadlineKey(const TransactionRecord& t) {
  return storage::keys::TransactionDeadline(
      static_cast<uint64_t>(std::max<int64_t>(0, t.deadline_micros())),
      TransactionKeyOf(t));
}

}  // namespace

bool TransactionLog::ParseEvent(std::string_view bytes, EventRecord& event) {
  return event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

std::string TransactionKeyOf(const TransactionRecord& record) {
  return storage::keys::Transaction(record.owner(), record.id());
}

std::string_view TransactionStateName(TransactionRecord::State state) {
  switch (state) {
    case TransactionRecord::PREPARED:
      return "prepared";
    case TransactionRecord::COMMITTED:
      return "committed";
    case TransactionRecord::ABORTED:
      return "aborted";
    case TransactionRecord::EXPIRED:
      return "expired";
    default:
      return "unknown";
  }
}

TransactionLog::TransactionLog(storage::Store* store, DeliveryQueue* queue,
                               const EventMatcher* matcher,
                               const DialectCatalog* dialects,
                               const Clock* clock, RandomSource* random,
                               const Limits& limits,
                               const TransactionOptions& options)
    : store_(store),
      queue_(queue),
      matcher_(matcher),
      dialects_(dialects),
      clock_(clock),
      random_(random),
      limits_(limits),
      options_(options),
      prepared_(options.kept_matches) {}

absl::Mutex& TransactionLog::LockFor(std::string_view transaction_id) const {
  return locks_[std::hash<std::string_view>()(transaction_id) % kLockStripes];
}

absl::StatusOr<std::optional<TransactionRecord>> TransactionLog::Load(
    std::string_view key) const {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_->Get(Column::kTransactions, key));
  if (!bytes.has_value()) return std::nullopt;
  TransactionRecord record;
  if (!record.ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) {
    std::optional<storage::keys::TransactionKey> name =
        storage::keys::ParseTransaction(key);
    return absl::DataLossError(
        StrCat("stored transaction \"",
               name.has_value() ? name->transaction_id : "", "\" is corrupt"));
  }
  return record;
}

absl::StatusOr<std::optional<TransactionRecord>> TransactionLog::Find(
    std::string_view owner, std::string_view transaction_id) const {
  ASSIGN_OR_RETURN(
      std::optional<TransactionRecord> owned,
      Load(storage::keys::Transaction(owner, transaction_id)));
  if (owned.has_value() || owner.empty()) return owned;
  return Load(storage::keys::Transaction("", transaction_id));
}

void TransactionLog::StageTransaction(const TransactionRecord* before,
                                      const TransactionRecord& after,
                                      storage::WriteBatch& batch) {
  // Another node may resolve or extend the same transaction: the write
  // holds only while the record is still what this one read.
  const std::string key = TransactionKeyOf(after);
  if (before != nullptr) {
    batch.Expect(Column::kTransactions, key, before->SerializeAsString());
  } else {
    batch.Expect(Column::kTransactions, key, std::nullopt);
  }
  if (before != nullptr && before->deadline_micros() != after.deadline_micros()) {
    batch.Delete(Column::kTransactionDeadlines, DeadlineKey(*before));
  }
  batch.Put(Column::kTransactions, key, after.SerializeAsString());
  batch.Put(Column::kTransactionDeadlines, DeadlineKey(after), "");
}

absl::Status TransactionLog::StageDropEvents(std::string_view key,
                                             storage::WriteBatch& batch) const {
  std::vector<std::string> keys;
  RETURN_IF_ERROR(store_->ScanPrefix(
      Column::kTransactionEvents, storage::keys::TransactionEventsPrefix(key),
      [&](std::string_view event_key, std::string_view) {
        keys.emplace_back(event_key);
        return true;
      }));
  for (const std::string& event_key : keys) {
    batch.Delete(Column::kTransactionEvents, event_key);
  }
  return absl::OkStatus();
}

absl::Status TransactionLog::Expire(TransactionRecord record) {
  const TransactionRecord before = record;
  const absl::Time now = clock_->Now();
  record.set_state(TransactionRecord::EXPIRED);
  record.set_resolve_time_micros(Micros(now));
  record.set_deadline_micros(Micros(now + options_.retention));
  const std::string key = TransactionKeyOf(record);
  storage::WriteBatch batch;
  RETURN_IF_ERROR(StageDropEvents(key, batch));
  StageTransaction(&before, record, batch);
  prepared_.Forget(key);
  return store_->Write(batch);
}

absl::Status TransactionLog::NormalizeEvents(
    std::vector<EventRecord>& events) const {
  if (events.empty()) return error::RequiredField("events");
  if (events.size() > static_cast<size_t>(limits_.max_events_per_call)) {
    return error::LimitExceeded("events", limits_.max_events_per_call,
                                "events per call");
  }
  absl::flat_hash_map<std::string, size_t> seen;
  for (size_t i = 0; i < events.size(); ++i) {
    std::string prefix = StrCat("events[", i, "]");
    RETURN_IF_ERROR(
        NormalizeEvent(prefix, events[i], limits_, *clock_, *random_));
    auto [it, fresh] = seen.emplace(events[i].id(), i);
    if (!fresh) {
      return error::InvalidField(
          StrCat(prefix, ".id"),
          StrCat("duplicates events[", it->second, "].id"));
    }
  }
  return absl::OkStatus();
}

EventResult TransactionLog::StageNewEvent(std::string_view event_key,
                                          uint64_t seq,
                                          const EventMatcher::State& state,
                                          EventRecord& event,
                                          std::vector<PreparedEvent>& matched,
                                          storage::WriteBatch& batch) const {
  event.set_seq(seq);
  const PreparedEvent& prepared = matched.emplace_back(Match(event, state));
  event.set_matched_at_prepare(
      static_cast<int64_t>(prepared.recipients.size()));
  batch.Put(Column::kTransactionEvents, event_key, event.SerializeAsString());
  return {event.id(), event.matched_at_prepare()};
}

absl::StatusOr<PrepareResult> TransactionLog::Prepare(
    std::string_view owner, std::string_view transaction_id,
    std::vector<EventRecord> events, std::optional<absl::Duration> ttl) {
  RETURN_IF_ERROR(
      ValidateTransactionId("transaction_id", transaction_id, limits_));
  if (ttl.has_value() && *ttl <= absl::ZeroDuration()) {
    return error::InvalidField("ttl", "must be positive");
  }
  if (ttl.has_value() && *ttl > options_.max_ttl) {
    return error::InvalidField(
        "ttl", StrCat("at most ", absl::FormatDuration(options_.max_ttl)));
  }
  RETURN_IF_ERROR(NormalizeEvents(events));

  return RetryOnConflict([&]() -> absl::StatusOr<PrepareResult> {
    absl::MutexLock lock(&LockFor(transaction_id));
    const absl::Time now = clock_->Now();
    ASSIGN_OR_RETURN(std::optional<TransactionRecord> existing,
                     Find(owner, transaction_id));
    TransactionRecord record;
    if (existing.has_value()) {
      record = *existing;
      if (record.state() == TransactionRecord::PREPARED &&
          record.expire_time_micros() <= Micros(now)) {
        RETURN_IF_ERROR(Expire(record));
        return error::TransactionResolved(transaction_id, "expired", "prepared");
      }
      if (record.state() != TransactionRecord::PREPARED) {
        return error::TransactionResolved(
            transaction_id, TransactionStateName(record.state()), "prepared");
      }
    } else {
      record.set_id(std::string(transaction_id));
      record.set_owner(std::string(owner));
      record.set_state(TransactionRecord::PREPARED);
      record.set_create_time_micros(Micros(now));
      record.set_expire_time_micros(
          Micros(now + ttl.value_or(options_.default_ttl)));
      record.set_deadline_micros(record.expire_time_micros());
    }

    const std::string transaction_key = TransactionKeyOf(record);
    PrepareResult result;
    storage::WriteBatch batch;
    int64_t added = 0;
    // Read before matching: Commit reuses these matches only while it is
    // unchanged.
    const EventMatcher::State state = matcher_->CurrentState();
    std::vector<PreparedEvent> matched;
    for (EventRecord& event : events) {
      const std::string key =
          storage::keys::TransactionEvent(transaction_key, event.id());
      std::optional<std::string> stored;
      if (existing.has_value()) {  // a new transaction holds no events yet
        ASSIGN_OR_RETURN(stored, store_->Get(Column::kTransactionEvents, key));
      }
      if (stored.has_value()) {
        EventRecord previous;
        if (!ParseEvent(*stored, previous)) {
          return absl::DataLossError(StrCat("stored event \"", event.id(),
                                            "\" is corrupt"));
        }
        result.event_results.push_back(
            {previous.id(), previous.matched_at_prepare()});
        continue;
      }
      result.event_results.push_back(StageNewEvent(
          key, static_cast<uint64_t>(record.event_count() + added), state,
          event, matched, batch));
      ++added;
    }
    if (record.event_count() + added > limits_.max_events_per_transaction) {
      return error::LimitExceeded(
          "events", limits_.max_events_per_transaction,
          StrCat("events per transaction (\"", transaction_id, "\" holds ",
                 record.event_count(), ")"));
    }
    if (added > 0 || !existing.has_value()) {
      const int64_t held_before = record.event_count();
      record.set_event_count(record.event_count() + added);
      StageTransaction(existing.has_value() ? &*existing : nullptr, record, batch);
      RETURN_IF_ERROR(store_->Write(batch));
      prepared_.Add(transaction_key, held_before, std::move(matched));
    }
    result.transaction = std::move(record);
    return result;
  });
}

std::string TransactionLog::DialectRepresentation(
    std::string_view dialect) const {
  absl::StatusOr<DialectRecord> found = dialects_->Get(dialect);
  return found.ok() ? found->representation()
                    : std::string(kDeliveryRepresentation);
}

PreparedEvent TransactionLog::Match(const EventRecord& event,
                                    const EventMatcher::State& state) const {
  PreparedEvent prepared;
  prepared.id = event.id();
  prepared.seq = event.seq();
  prepared.state = state;
  for (const auto& [name, representation] : event.representations()) {
    prepared.representations.push_back(name);
  }
  matcher_->ForEachDelivery(event, [&](const Recipient& recipient) {
    prepared.recipients.push_back(recipient);
  });
  return prepared;
}

absl::StatusOr<std::vector<PreparedEvent>> TransactionLog::MatchStored(
    std::string_view key) const {
  std::vector<EventRecord> stored;
  absl::Status parse_error;
  RETURN_IF_ERROR(store_->ScanPrefix(
      Column::kTransactionEvents, storage::keys::TransactionEventsPrefix(key),
      [&](std::string_view, std::string_view value) {
        stored.emplace_back();
        if (!ParseEvent(value, stored.back())) {
          parse_error = absl::DataLossError("stored event is corrupt");
          return false;
        }
        return true;
      }));
  RETURN_IF_ERROR(parse_error);
  std::sort(stored.begin(), stored.end(),
            [](const EventRecord& a, const EventRecord& b) {
              return a.seq() < b.seq();
            });
  const EventMatcher::State state = matcher_->CurrentState();
  std::vector<PreparedEvent> events;
  events.reserve(stored.size());
  for (const EventRecord& event : stored) {
    events.push_back(Match(event, state));
  }
  return events;
}

absl::StatusOr<TransactionRecord> TransactionLog::Abort(
    std::string_view owner, std::string_view transaction_id) {
  RETURN_IF_ERROR(
      ValidateTransactionId("transaction_id", transaction_id, limits_));
  return RetryOnConflict([&]() -> absl::StatusOr<TransactionRecord> {
    absl::MutexLock lock(&LockFor(transaction_id));
    const absl::Time now = clock_->Now();
    ASSIGN_OR_RETURN(std::optional<TransactionRecord> existing,
                     Find(owner, transaction_id));
    if (!existing.has_value()) return error::TransactionNotFound(transaction_id);
    switch (existing->state()) {
      case TransactionRecord::COMMITTED:
        return error::TransactionResolved(transaction_id, "committed", "aborted");
      case TransactionRecord::ABORTED:
      case TransactionRecord::EXPIRED:
        return *existing;
      default:
        break;
    }
    TransactionRecord record = *existing;
    record.set_state(existing->expire_time_micros() <= Micros(now)
                         ? TransactionRecord::EXPIRED
                         : TransactionRecord::ABORTED);
    record.set_resolve_time_micros(Micros(now));
    record.set_deadline_micros(Micros(now + options_.retention));
    const std::string key = TransactionKeyOf(record);
    storage::WriteBatch batch;
    RETURN_IF_ERROR(StageDropEvents(key, batch));
    StageTransaction(&*existing, record, batch);
    RETURN_IF_ERROR(store_->Write(batch));
    prepared_.Forget(key);
    return record;
  });
}

absl::StatusOr<TransactionRecord> TransactionLog::Get(
    std::string_view owner, std::string_view transaction_id) const {
  RETURN_IF_ERROR(
      ValidateTransactionId("transaction_id", transaction_id, limits_));
  ASSIGN_OR_RETURN(std::optional<TransactionRecord> existing,
                   Find(owner, transaction_id));
  if (!existing.has_value()) return error::TransactionNotFound(transaction_id);
  if (existing->state() == TransactionRecord::PREPARED &&
      existing->expire_time_micros() <= Micros(clock_->Now())) {
    existing->set_state(TransactionRecord::EXPIRED);
    existing->set_resolve_time_micros(existing->expire_time_micros());
  }
  return *existing;
}

absl::StatusOr<int> TransactionLog::Reap(int limit) {
  const absl::Time now = clock_->Now();
  std::vector<storage::keys::TransactionDeadlineKey> due;
  RETURN_IF_ERROR(store_->Scan(
      Column::kTransactionDeadlines, "",
      storage::keys::TransactionDeadline(
          static_cast<uint64_t>(Micros(now)) + 1, ""),
      [&](std::string_view key, std::string_view) {
        if (auto parsed = storage::keys::ParseTransactionDeadline(key)) {
          due.push_back(*std::move(parsed));
        }
        return due.size() < static_cast<size_t>(limit);
      }));
  int handled = 0;
  for (const auto& entry : due) {
    // entry.transaction_id is the transaction's key.
    const std::string key = storage::keys::TransactionDeadline(
        entry.deadline_micros, entry.transaction_id);
    std::optional<storage::keys::TransactionKey> name =
        storage::keys::ParseTransaction(entry.transaction_id);
    absl::MutexLock lock(&LockFor(name.has_value() ? name->transaction_id
                                                   : entry.transaction_id));
    ASSIGN_OR_RETURN(std::optional<TransactionRecord> record,
                     Load(entry.transaction_id));
    storage::WriteBatch batch;
    if (!record.has_value() ||
        static_cast<uint64_t>(record->deadline_micros()) !=
            entry.deadline_micros) {
      batch.Delete(Column::kTransactionDeadlines, key);  // stale entry
    } else if (record->state() == TransactionRecord::PREPARED) {
      absl::Status expired = Expire(*record);
      // A conflict: another node resolved it first.
      if (storage::IsExpectationFailure(expired)) continue;
      RETURN_IF_ERROR(expired);
      ++handled;
      continue;
    } else {
      RETURN_IF_ERROR(StageDropEvents(entry.transaction_id, batch));
      batch.Expect(Column::kTransactions, entry.transaction_id,
                   record->SerializeAsString());
      batch.Delete(Column::kTransactions, entry.transaction_id);
      batch.Delete(Column::kTransactionDeadlines, key);
    }
    absl::Status written = store_->Write(batch);
    if (storage::IsExpectationFailure(written)) continue;
    RETURN_IF_ERROR(written);
    ++handled;
  }
  return handled;
}

}  // namespace webhooks::core
