// Two-phase event submission: a publisher prepares events inside its own
// transaction, then commits (deliveries are created) or aborts (nothing is
// ever delivered). Prepared transactions that are never resolved expire.
//
//   ASSIGN_OR_RETURN(PrepareResult p,
//                    log->Prepare("app", "tx-42", events, std::nullopt));
//   ... the publisher commits its own database ...
//   ASSIGN_OR_RETURN(CommitResult c, log->Commit("app", "tx-42"));
//
// Transactions belong to an owner, the principal that prepared them, and
// publishers choose their ids: a transaction is named by (owner, id), so two
// owners' "tx-42" are two transactions. Who may name which owner is the
// caller's business (server/handlers/event_handler.cc). An empty owner names
// unowned transactions: those stored before owners were recorded, and those
// prepared in open mode. A call whose owner has no transaction of that id
// falls back to the unowned one, so that what was prepared before the
// upgrade can still be committed, aborted and read.
//
// Prepare and Commit return only once their batch is durable (synced WAL);
// concurrent calls share syncs through the store's group commit. Calls on
// one transaction are serialized; calls on different ones run in parallel.
// Matching happens at commit, against the subscriptions active then, on the
// in-memory index. Thread-safe.
#ifndef WEBHOOKS_CORE_TRANSACTION_LOG_H_
#define WEBHOOKS_CORE_TRANSACTION_LOG_H_

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/random.h"
#include "core/delivery_queue.h"
#include "core/dialect_catalog.h"
#include "core/event_matcher.h"
#include "core/limits.h"
#include "core/ordering_directory.h"
#include "core/prepared_matches.h"
#include "storage/sequencer.h"
#include "storage/store.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::core {

using internal::TransactionRecord;

// The key a transaction record is stored under (storage::keys::Transaction).
std::string TransactionKeyOf(const TransactionRecord& record);

struct TransactionOptions {
  absl::Duration default_ttl = absl::Minutes(10);
  absl::Duration max_ttl = absl::Hours(1);
  // How long a resolved transaction (and its events, which pending
  // deliveries read their bodies from) is kept. Longer than the default
  // retry schedule (about 28 hours).
  absl::Duration retention = absl::Hours(24 * 7);
  // Prepared events whose match results are kept in memory for Commit (see
  // core/prepared_matches.h); 0 turns that off.
  size_t kept_matches = 50000;
};

struct EventResult {
  std::string event_id;
  int64_t matched_subscriptions = 0;
};

struct PrepareResult {
  TransactionRecord transaction;
  std::vector<EventResult> event_results;
};

struct CommitResult {
  TransactionRecord transaction;
  int64_t deliveries_created = 0;
};

class TransactionLog {
 public:
  // The pointers must outlive the log.
  // `queue` (may be null) is told of the deliveries each commit enqueues.
  TransactionLog(storage::Store* store, DeliveryQueue* queue,
                 const EventMatcher* matcher,
                 const DialectCatalog* dialects, const Clock* clock,
                 RandomSource* random, const Limits& limits,
                 const TransactionOptions& options);

  // Makes commits give the deliveries of ordered subscriptions (as
  // `directory` says) their ordering key and place (through `sequencer`).
  // Before the first commit; both must outlive the log.
  void EnableOrdering(const OrderingDirectory* directory,
                      storage::Sequencer* sequencer) {
    ordering_ = directory;
    sequencer_ = sequencer;
  }

  // Validates every event (all or nothing: fields named "events[i]...") and
  // stores them in the open transaction, creating it with `ttl` (default
  // and maximum from the options) on first use. An event id already in the
  // transaction is a no-op answered as before. FAILED_PRECONDITION when the
  // transaction is resolved or expired; RESOURCE_EXHAUSTED beyond the
  // per-call or per-transaction event limits.
  // A new transaction is owned by `owner`.
  absl::StatusOr<PrepareResult> Prepare(std::string_view owner,
                                        std::string_view transaction_id,
                                        std::vector<EventRecord> events,
                                        std::optional<absl::Duration> ttl);

  // Matches every event of the transaction and stores one pending delivery
  // per recipient, atomically. Committing a committed transaction returns
  // the same result. NOT_FOUND for an unknown id; FAILED_PRECONDITION after
  // abort or expiry.
  absl::StatusOr<CommitResult> Commit(std::string_view owner,
                                      std::string_view transaction_id);

  // Discards the transaction's events. Idempotent for aborted or expired
  // transactions; FAILED_PRECONDITION after commit; NOT_FOUND when unknown.
  absl::StatusOr<TransactionRecord> Abort(std::string_view owner,
                                          std::string_view transaction_id);

  // The transaction as it stands (a prepared one past its expiry reads as
  // EXPIRED). NOT_FOUND when unknown or forgotten after retention.
  absl::StatusOr<TransactionRecord> Get(std::string_view owner,
                                        std::string_view transaction_id) const;

  // Prepare and Commit of a new transaction of `owner` with a generated id
  // ("pub_..."), in one write: the transaction is stored committed, with
  // its events and deliveries, or not at all.
  absl::StatusOr<CommitResult> Publish(std::string_view owner,
                                       std::vector<EventRecord> events,
                                       std::vector<EventResult>* results);

  // Marks prepared transactions past their expiry EXPIRED (dropping their
  // events) and forgets resolved ones past retention, at most `limit` of
  // them. Returns how many it handled. Called periodically by the server.
  absl::StatusOr<int> Reap(int limit);

 private:
  // Every owner's transaction of one id shares a lock, so that a call and
  // its fallback to the unowned transaction hold the same one.
  absl::Mutex& LockFor(std::string_view transaction_id) const;
  // The record stored under `key` (storage::keys::Transaction).
  absl::StatusOr<std::optional<TransactionRecord>> Load(
      std::string_view key) const;
  // The owner's transaction of this id, else the unowned one (see above).
  absl::StatusOr<std::optional<TransactionRecord>> Find(
      std::string_view owner, std::string_view transaction_id) const;
  // Adds the writes that store `after` over `before` (null: new), keeping
  // the deadline index in step.
  static void StageTransaction(const TransactionRecord* before,
                               const TransactionRecord& after,
                               storage::WriteBatch& batch);
  // Adds deletions of every event of the transaction stored under `key`.
  absl::Status StageDropEvents(std::string_view key,
                               storage::WriteBatch& batch) const;
  // Resolves `record` (PREPARED, past expiry) as EXPIRED.
  absl::Status Expire(TransactionRecord record);
  // The representation a dialect asks for (events lacking it send
  // webhook-delivery instead).
  std::string DialectRepresentation(std::string_view dialect) const;
  // The event's recipients now, with what Commit needs of it; `state` was
  // read before matching.
  PreparedEvent Match(const EventRecord& event,
                      const EventMatcher::State& state) const;
  // Reads the events of the transaction stored under `key` back and
  // matches them, in order.
  absl::StatusOr<std::vector<PreparedEvent>> MatchStored(
      std::string_view key) const;

  // Checks and completes a call's events (fields named "events[i]...").
  absl::Status NormalizeEvents(std::vector<EventRecord>& events) const;
  // Stages `event`, new to its transaction, as its `seq`th at `event_key`:
  // matched against `state` (the matches go on `matched`, their count into
  // the stored record). Returns what the call reports of it.
  EventResult StageNewEvent(std::string_view event_key, uint64_t seq,
                            const EventMatcher::State& state,
                            EventRecord& event,
                            std::vector<PreparedEvent>& matched,
                            storage::WriteBatch& batch) const;
  // Turns `record` into the committed transaction holding `deliveries`.
  void MarkCommitted(TransactionRecord& record, int64_t deliveries,
                     absl::Time now) const;
  static bool ParseEvent(std::string_view bytes, EventRecord& event);

  // What a commit writes besides the transaction and its events.
  struct StagedDeliveries {
    int64_t created = 0;
    int64_t queued_min = DeliveryQueue::kNothingQueued;
    // Deliveries of ordered subscriptions, in event order: numbered when
    // written (WriteOrdered).
    std::vector<internal::DeliveryRecord> ordered;
  };
  // An event's record, for ordering keys taken from its payload.
  using EventLookup = absl::FunctionRef<absl::StatusOr<const EventRecord*>(
      const PreparedEvent&)>;
  // Stages one pending delivery per recipient of `events` into `batch`,
  // but those of ordered subscriptions into `staged.ordered`.
  absl::Status StageDeliveries(const TransactionRecord& transaction,
                               const std::vector<PreparedEvent>& events,
                               absl::Time now, EventLookup event_of,
                               storage::WriteBatch& batch,
                               StagedDeliveries& staged) const;
  // Writes `batch` with the ordered deliveries numbered, then tells the
  // queue.
  absl::Status WriteCommitted(storage::WriteBatch& batch,
                              StagedDeliveries& staged);

  // Constant after construction.
  storage::Store* const store_;
  DeliveryQueue* const queue_;
  const EventMatcher* const matcher_;
  const DialectCatalog* const dialects_;
  const Clock* const clock_;
  RandomSource* const random_;
  const Limits limits_;
  const TransactionOptions options_;

  // Serializes calls on one transaction: a transaction id hashes to one.
  static constexpr int kLockStripes = 64;
  mutable std::array<absl::Mutex, kLockStripes> locks_;

  PreparedMatches prepared_;
  const OrderingDirectory* ordering_ = nullptr;
  storage::Sequencer* sequencer_ = nullptr;
};

using TransactionLogPtr = std::unique_ptr<TransactionLog>;

// The API name of a state: "prepared", "committed", "aborted", "expired".
std::string_view TransactionStateName(TransactionRecord::State state);

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_TRANSACTION_LOG_H_
