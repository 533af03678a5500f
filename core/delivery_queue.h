// The durable queue of deliveries, ordered by due time. While a delivery is
// pending, a key (due time, id) in kDeliveryQueue holds its record (so a
// scan needs no look-ups); once it has changed at all (an attempt's outcome,
// a redelivery), kDeliveries holds the record too, by id. A new delivery
// that is due at its creation (InitialDueMicros, the time its id carries)
// is written to the queue only: most deliveries are sent once and never
// looked up by id, and a commit then writes one key per delivery instead of
// two. Get finds either kind: the queue key it would have follows from the
// id (with partitions, from NewDeliveryId's ids, which carry their
// partition; a delivery whose id does not is written by id too). Writers
// stage changes into the same batch as whatever caused them (a commit, an
// attempt's outcome), so queue and records never disagree.
//
//   int64_t queued = DeliveryQueue::kNothingQueued;
//   DeliveryQueue::StageUpdate(nullptr, delivery, batch, &queued);  // enqueue
//   RETURN_IF_ERROR(store.Write(batch));
//   queue.NoteEnqueued(queued);
//   ASSIGN_OR_RETURN(auto due, queue.NextDue(clock.Now(), 100, skip));
//
// NextDue, the dispatcher's scan, does not start at the head of the queue
// column: delivered entries leave delete tombstones there that an iterator
// would step over on every scan until compaction drops them, and entries
// being sent would be stepped over too. It starts at a low-water mark
// instead — just past the last entry its previous scan returned (at that
// entry's due time when something was noted at it) — lowered by
// NoteEnqueued for entries written since. So every writer that
// enqueues calls NoteEnqueued after its write returns, and the caller of
// NextDue notes every entry it returned or skipped that it leaves pending
// without rewriting it (not sent after all, outcome not written). A writer
// whose delivery `skip` may name (one being written) notes only once it no
// longer does: a scan that takes the note while still skipping the entry
// moves the mark past it. As a safety net NextDue also scans from the head
// every kFullScanInterval. A partitioned queue keeps a mark per partition
// the same way, and reads every held partition from its head every
// kPartitionHeadScanInterval, since other nodes enqueue there too.
//
// Thread-safe (the Store is); callers serialize updates of one delivery.
#ifndef WEBHOOKS_CORE_DELIVERY_QUEUE_H_
#define WEBHOOKS_CORE_DELIVERY_QUEUE_H_

#include <atomic>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/random.h"
#include "storage/store.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::core {

using internal::DeliveryRecord;

// Which partitions of a partitioned queue this process may send from (in a
// cluster: those whose lease it holds). Thread-safe.
class PartitionOwnership {
 public:
  virtual ~PartitionOwnership() = default;
  // The partitions to take deliveries from now.
  virtual std::vector<int> Owned() const = 0;
  // Whether `partition` is still held for long enough to write the outcome
  // of a delivery taken from it (false once it may have passed to another
  // node: that node sends it again).
  virtual bool Holds(int partition) const = 0;
};

class DeliveryQueue {
 public:
  static constexpr int64_t kNothingQueued = std::numeric_limits<int64_t>::max();
  static constexpr absl::Duration kFullScanInterval = absl::Seconds(60);
  // Partitioned (cluster mode): how often NextDue reads every held
  // partition from its head. In between it reads on from where it stopped,
  // as with one partition; the head scans find what other nodes enqueued
  // at due times it had passed already (NoteEnqueued hears only of this
  // process's writes). The dispatcher's idle poll is as long, so an idle
  // node reads from the heads as it always did.
  static constexpr absl::Duration kPartitionHeadScanInterval =
      absl::Milliseconds(100);

  // Delivery ids are NewId(kIdPrefix, creation millis, ...).
  static constexpr std::string_view kIdPrefix = "dlv_";

  // With `partitions` above 1 (cluster mode) every queue key begins with
  // the partition of its delivery's subscription (PartitionOf), and NextDue
  // reads only the partitions SetOwnership's owner holds.
  explicit DeliveryQueue(storage::Store* store, int partitions = 1)
      : store_(store), partitions_(partitions < 1 ? 1 : partitions) {}

  int partitions() const { return partitions_; }

  // The partition of a subscription's deliveries: one owner at a time sends
  // them, writes their attempts and counts their failures.
  static int PartitionOf(std::string_view subscription_id, int partitions);

  // The most partitions whose number a delivery id can carry.
  static constexpr int kMaxTaggedPartitions = 1 << 16;

  // A new delivery's id: NewId(kIdPrefix, now, ...), which with
  // `partitions` (up to kMaxTaggedPartitions) carries the partition of the
  // subscription in its tag (NewTaggedId), so that Get finds the queue key
  // of a delivery from its id alone, as with one partition.
  static std::string NewDeliveryId(absl::Time now,
                                   std::string_view subscription_id,
                                   int partitions, RandomSource& random);

  // Who says which partitions NextDue may read (must outlive the queue, or
  // be replaced by null first). Until set, a partitioned queue reads none.
  void SetOwnership(const PartitionOwnership* ownership);

  // Whether the outcome of `delivery`, taken by NextDue, may still be
  // written (always, with one partition).
  bool Holds(const DeliveryRecord& delivery) const;

  // The due time, in microseconds, of a new delivery that is due when it
  // is created: the millisecond its id carries. nullopt for an id that is
  // not NewId(kIdPrefix, ...).
  static std::optional<int64_t> InitialDueMicros(std::string_view id);

  // Adds to `batch` the writes that replace `before` (null: a new delivery)
  // by `after`: the record (not for a new delivery due at
  // InitialDueMicros), and the queue key of a PENDING delivery at its
  // next_attempt_micros. When it adds a queue key and `queued_min` is not
  // null, lowers *queued_min to that key's due time (for NoteEnqueued).
  // `partitions` is the queue's partitions().
  static void StageUpdate(const DeliveryRecord* before,
                          const DeliveryRecord& after,
                          storage::WriteBatch& batch,
                          int64_t* queued_min = nullptr, int partitions = 1);

  // StageUpdate for a `before` that was PENDING, due at `before_due_micros`
  // (the id is after's).
  static void StageReplacePending(int64_t before_due_micros,
                                  const DeliveryRecord& after,
                                  storage::WriteBatch& batch,
                                  int64_t* queued_min = nullptr,
                                  int partitions = 1);

  // Tells NextDue that a write which has returned put queue keys due at or
  // after `due_micros` (kNothingQueued: none).
  void NoteEnqueued(int64_t due_micros);

  // Pending deliveries due at or before `now`, earliest first, at most
  // `limit`: a full scan of the queue (for tests and tools).
  absl::StatusOr<std::vector<DeliveryRecord>> Due(absl::Time now,
                                                  int limit) const;

  // Returns true for a delivery id the caller does not want (say, one it
  // is already sending); NextDue neither reads nor counts those.
  using SkipFn = absl::FunctionRef<bool(std::string_view delivery_id)>;

  // Like Due, but from the low-water mark, leaving out what `skip` names.
  // For one caller at a time (the dispatcher), who must note what it leaves
  // pending (see above). Records are parsed into those taken from the back
  // of `spare` (if given) while it has any: emptied records keep their
  // strings' storage, so a steady caller that hands them back allocates
  // little.
  absl::StatusOr<std::vector<DeliveryRecord>> NextDue(
      absl::Time now, int limit, SkipFn skip,
      std::vector<DeliveryRecord>* spare = nullptr)
      ABSL_LOCKS_EXCLUDED(scan_mu_);

  // NOT_FOUND when there is no such delivery.
  absl::StatusOr<DeliveryRecord> Get(std::string_view id) const;

  // Number of pending deliveries (a scan: for tests and occasional metrics).
  absl::StatusOr<int64_t> Depth() const;

 private:
  // The partition a delivery id names (0 with one partition), if any: the
  // tag of NewDeliveryId's ids, and of older ids that happen to carry one.
  static std::optional<int> IdPartition(std::string_view id, int partitions);
  // The queue key of a delivery with id `id` due at its creation, when the
  // id says where that is.
  static std::optional<std::string> InitialQueueKey(std::string_view id,
                                                    int partitions);

  // The least a partition is read for at a time in NextDue.
  static constexpr int64_t kMinPartitionShare = 16;

  // Gathers the due entries a scan visits: the records their queue values
  // hold, and the ids of old entries without one (read by Finish).
  class DueCollector {
   public:
    DueCollector(SkipFn skip, std::vector<DeliveryRecord>* spare)
        : skip_(skip), spare_(spare) {}
    // `entry_key` without its partition prefix. False when the record is
    // corrupt (the scan must stop; Finish reports it).
    bool Add(std::string_view entry_key, std::string_view value);
    size_t size() const { return due_.size() + to_read_.size(); }
    // The due time and id of the last entry added.
    std::optional<uint64_t> last_due;
    std::string last_id;

   private:
    friend class DeliveryQueue;
    SkipFn skip_;
    std::vector<DeliveryRecord>* spare_;  // may be null
    std::vector<DeliveryRecord> due_;
    std::vector<std::string> to_read_;
    absl::Status error_;
  };
  // The collected records, old entries read, in due order.
  absl::StatusOr<std::vector<DeliveryRecord>> Finish(
      DueCollector& collected) const;

  // The pending deliveries queued under `prefix` (a partition's, or none)
  // in [from, now], at most `limit` not skipped; *last_due is the due time
  // of the last one (or untouched), and *last_id (if given) its id. With
  // `after_id`, the scan starts just past the entry (from, after_id).
  absl::StatusOr<std::vector<DeliveryRecord>> Scan(std::string_view prefix,
                                                   uint64_t from_micros,
                                                   absl::Time now, int limit,
                                                   SkipFn skip,
                                                   uint64_t* last_due,
                                                   std::vector<DeliveryRecord>*
                                                       spare = nullptr,
                                                   std::string_view after_id = {},
                                                   std::string* last_id =
                                                       nullptr) const;
  absl::StatusOr<std::vector<DeliveryRecord>> NextDueInPartitions(
      absl::Time now, int limit, SkipFn skip,
      std::vector<DeliveryRecord>* spare)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(scan_mu_);
  // NextDueInPartitions's reads of the `owned` partitions, from where the
  // last scan stopped (or their heads), lowered to `noted`.
  absl::StatusOr<std::vector<DeliveryRecord>> ReadPartitions(
      absl::Time now, int limit, SkipFn skip,
      std::vector<DeliveryRecord>* spare, const std::vector<int>& owned,
      int64_t noted, bool from_heads) ABSL_EXCLUSIVE_LOCKS_REQUIRED(scan_mu_);

  storage::Store* const store_;
  const int partitions_;
  // The smallest due time noted since the last NextDue began.
  std::atomic<int64_t> noted_min_{kNothingQueued};
  mutable absl::Mutex scan_mu_;
  std::atomic<const PartitionOwnership*> ownership_{nullptr};
  size_t next_first_partition_ ABSL_GUARDED_BY(scan_mu_) = 0;
  // Every queue key below this, when the last NextDue began, was returned
  // or skipped by an earlier NextDue (or is noted since).
  uint64_t low_water_ ABSL_GUARDED_BY(scan_mu_) = 0;
  // The id of the last entry the last NextDue returned, at low_water_ ("":
  // none): the next scan starts past it unless an entry was noted at or
  // below low_water_.
  std::string low_water_id_ ABSL_GUARDED_BY(scan_mu_);
  absl::Time last_full_scan_ ABSL_GUARDED_BY(scan_mu_) = absl::InfinitePast();
  // Partitioned: where the next NextDue reads each held partition from (its
  // whole key), past what the last one read, took or skipped; a partition
  // without one is read from its head. Every key of the partition below it
  // was returned or skipped by an earlier NextDue, is noted since, or was
  // written by another node after that scan had passed its due time.
  absl::flat_hash_map<int, std::string> partition_resume_
      ABSL_GUARDED_BY(scan_mu_);
  absl::Time last_head_scan_ ABSL_GUARDED_BY(scan_mu_) = absl::InfinitePast();
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_DELIVERY_QUEUE_H_
