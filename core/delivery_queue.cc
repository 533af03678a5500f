#include "core/delivery_queue.h"

#include "common/random.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "core/delivery_order.h"
#include "storage/key_codec.h"

namespace webhooks::core {
namespace {

using storage::Column;

bool Pending(const DeliveryRecord& d) {
  return d.state() == DeliveryRecord::PENDING;
}

// With one partition a queue key is QueueEntry(due, id); with more, the
// partition's two bytes come first.
std::string PartitionPrefix(int partition, int partitions) {
  if (partitions <= 1) return std::string();
  return std::string{static_cast<char>((partition >> 8) & 0xff),
                     static_cast<char>(partition & 0xff)};
}

std::string QueueKey(int64_t due_micros, std::string_view id,
                     std::string_view subscription_id = {},
                     int partitions = 1) {
  std::string key = PartitionPrefix(
      DeliveryQueue::PartitionOf(subscription_id, partitions), partitions);
  key += storage::keys::QueueEntry(
      static_cast<uint64_t>(std::max<int64_t>(0, due_micros)), id);
  return key;
}

std::string QueueKey(const DeliveryRecord& d, int partitions) {
  return QueueKey(d.next_attempt_micros(), d.id(), d.subscription_id(),
                  partitions);
}

// `record`: whether kDeliveries gets the record (the queue key always does).
void StagePut(const DeliveryRecord& after, bool record,
              storage::WriteBatch& batch, int64_t* queued_min,
              int partitions) {
  // A commit stages hundreds of these: serialize into one reused buffer
  // (the batch copies the bytes).
  thread_local std::string bytes;
  after.SerializeToString(&bytes);
  if (record) batch.Put(Column::kDeliveries, after.id(), bytes);
  if (Pending(after)) {
    batch.Put(Column::kDeliveryQueue, QueueKey(after, partitions), bytes);
    if (queued_min != nullptr) {
      *queued_min = std::min(*queued_min,
                             std::max<int64_t>(0, after.next_attempt_micros()));
    }
  }
}

uint64_t EndMicros(absl::Time now) {
  return static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMicros(now))) +
         1;
}

absl::Status Corrupt(std::string_view id) {
  return absl::DataLossError(StrCat("stored delivery \"", id, "\" is corrupt"));
}

absl::StatusOr<DeliveryRecord> Parse(std::string_view id,
                                     std::string_view bytes) {
  DeliveryRecord record;
  if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Corrupt(id);
  }
  return record;
}

}  // namespace

std::optional<int64_t> DeliveryQueue::InitialDueMicros(std::string_view id) {
  const std::optional<int64_t> millis = IdTimeMillis(kIdPrefix, id);
  if (!millis.has_value()) return std::nullopt;
  return *millis * 1000;
}

std::string DeliveryQueue::NewDeliveryId(absl::Time now,
                                         std::string_view subscription_id,
                                         int partitions, RandomSource& random) {
  const int64_t millis = absl::ToUnixMillis(now);
  if (partitions <= 1 || partitions > kMaxTaggedPartitions) {
    return NewId(kIdPrefix, millis, random);
  }
  return NewTaggedId(
      kIdPrefix, millis,
      static_cast<uint16_t>(PartitionOf(subscription_id, partitions)), random);
}

std::optional<int> DeliveryQueue::IdPartition(std::string_view id,
                                              int partitions) {
  if (partitions <= 1) return 0;
  if (partitions > kMaxTaggedPartitions) return std::nullopt;
  const std::optional<uint16_t> tag = IdTag(kIdPrefix, id);
  if (!tag.has_value() || *tag >= partitions) return std::nullopt;
  return *tag;
}

std::optional<std::string> DeliveryQueue::InitialQueueKey(std::string_view id,
                                                          int partitions) {
  const std::optional<int64_t> initial = InitialDueMicros(id);
  const std::optional<int> partition = IdPartition(id, partitions);
  if (!initial.has_value() || !partition.has_value()) return std::nullopt;
  std::string key = PartitionPrefix(*partition, partitions);
  key += storage::keys::QueueEntry(static_cast<uint64_t>(*initial), id);
  return key;
}

int DeliveryQueue::PartitionOf(std::string_view subscription_id,
                               int partitions) {
  if (partitions <= 1) return 0;
  // FNV-1a: stable across builds and machines (every node must agree).
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : subscription_id) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return static_cast<int>(hash % static_cast<uint64_t>(partitions));
}

void DeliveryQueue::StageUpdate(const DeliveryRecord* before,
                                const DeliveryRecord& after,
                                storage::WriteBatch& batch,
                                int64_t* queued_min, int partitions) {
  if (before != nullptr && Pending(*before)) {
    batch.Delete(Column::kDeliveryQueue, QueueKey(*before, partitions));
  }
  // Get finds a queue-only delivery by the key its id implies (with
  // partitions, a tagged id's: see NewDeliveryId); any other is written by
  // id too.
  const bool queue_only =
      before == nullptr && Pending(after) &&
      InitialDueMicros(after.id()) == after.next_attempt_micros() &&
      (partitions <= 1 || IdPartition(after.id(), partitions) ==
                              PartitionOf(after.subscription_id(), partitions));
  StagePut(after, /*record=*/!queue_only, batch, queued_min, partitions);
  StageDeliveryOrder(before, after, batch);
}

void DeliveryQueue::StageReplacePending(int64_t before_due_micros,
                                        const DeliveryRecord& after,
                                        storage::WriteBatch& batch,
                                        int64_t* queued_min, int partitions) {
  batch.Delete(Column::kDeliveryQueue,
               QueueKey(before_due_micros, after.id(), after.subscription_id(),
                        partitions));
  StagePut(after, /*record=*/true, batch, queued_min, partitions);
  StageDeliveryOrderAfterPending(after, batch);
}

void DeliveryQueue::SetOwnership(const PartitionOwnership* ownership) {
  ownership_.store(ownership, std::memory_order_release);
}

bool DeliveryQueue::Holds(const DeliveryRecord& delivery) const {
  if (partitions_ <= 1) return true;
  const PartitionOwnership* ownership =
      ownership_.load(std::memory_order_acquire);
  return ownership != nullptr &&
         ownership->Holds(PartitionOf(delivery.subscription_id(), partitions_));
}

void DeliveryQueue::NoteEnqueued(int64_t due_micros) {
  int64_t current = noted_min_.load(std::memory_order_relaxed);
  while (due_micros < current &&
         !noted_min_.compare_exchange_weak(current, due_micros,
                                           std::memory_order_acq_rel)) {
  }
}

bool DeliveryQueue::DueCollector::Add(std::string_view entry_key,
                                     std::string_view value) {
  auto entry = storage::keys::ParseQueueEntry(entry_key);
  if (!entry.has_value() || skip_(entry->delivery_id)) return true;
  last_due = entry->due_micros;
  last_id = entry->delivery_id;
  if (value.empty()) {
    to_read_.emplace_back(std::move(entry->delivery_id));
    return true;
  }
  if (spare_ != nullptr && !spare_->empty()) {
    due_.push_back(std::move(spare_->back()));  // its storage, not a copy
    spare_->pop_back();
  } else {
    due_.emplace_back();
  }
  if (!due_.back().ParseFromArray(value.data(),
                                  static_cast<int>(value.size()))) {
    due_.pop_back();
    error_ = Corrupt(entry->delivery_id);
    return false;
  }
  return true;
}

absl::StatusOr<std::vector<DeliveryRecord>> DeliveryQueue::Finish(
    DueCollector& collected) const {
  RETURN_IF_ERROR(collected.error_);
  std::vector<DeliveryRecord> due = std::move(collected.due_);
  // Entries written before queue values held the record: read it now.
  for (const std::string& id : collected.to_read_) {
    absl::StatusOr<DeliveryRecord> record = Get(id);
    // A queue key without its record was resolved after the scan.
    if (absl::IsNotFound(record.status())) continue;
    if (!record.ok()) return record.status();
    if (Pending(*record)) due.push_back(*std::move(record));
  }
  if (!collected.to_read_.empty()) {
    std::stable_sort(due.begin(), due.end(),
                     [](const DeliveryRecord& a, const DeliveryRecord& b) {
                       return a.next_attempt_micros() < b.next_attempt_micros();
                     });
  }
  return due;
}

absl::StatusOr<std::vector<DeliveryRecord>> DeliveryQueue::Scan(
    std::string_view prefix, uint64_t from_micros, absl::Time now, int limit,
    SkipFn skip, uint64_t* last_due,
    std::vector<DeliveryRecord>* spare, std::string_view after_id,
    std::string* last_id) const {
  if (limit <= 0) return std::vector<DeliveryRecord>();
  DueCollector collected(skip, spare);
  std::string start;
  if (!after_id.empty()) {
    // Just past the entry (from, after_id): its key with a NUL appended.
    start = StrCat(prefix, storage::keys::QueueEntry(from_micros, after_id));
    start.push_back('\0');
  } else if (from_micros != 0) {
    start = StrCat(prefix, storage::keys::QueueEntry(from_micros, ""));
  } else {
    start = std::string(prefix);
  }
  RETURN_IF_ERROR(store_->Scan(
      Column::kDeliveryQueue, start,
      StrCat(prefix, storage::keys::QueueEntry(EndMicros(now), "")),
      [&](std::string_view key, std::string_view value) {
        return collected.Add(key.substr(prefix.size()), value) &&
               collected.size() < static_cast<size_t>(limit);
      }));
  if (collected.last_due.has_value()) {
    *last_due = *collected.last_due;
    if (last_id != nullptr) *last_id = std::move(collected.last_id);
  }
  return Finish(collected);
}

absl::StatusOr<std::vector<DeliveryRecord>> DeliveryQueue::Due(
    absl::Time now, int limit) const {
  uint64_t last_due = 0;
  const auto no_skip = [](std::string_view) { return false; };
  if (partitions_ <= 1) return Scan("", 0, now, limit, no_skip, &last_due);
  std::vector<DeliveryRecord> due;
  for (int p = 0; p < partitions_; ++p) {
    ASSIGN_OR_RETURN(std::vector<DeliveryRecord> part,
                     Scan(PartitionPrefix(p, partitions_), 0, now, limit,
                          no_skip, &last_due));
    for (DeliveryRecord& d : part) due.push_back(std::move(d));
  }
  std::stable_sort(due.begin(), due.end(),
                   [](const DeliveryRecord& a, const DeliveryRecord& b) {
                     return a.next_attempt_micros() < b.next_attempt_micros();
                   });
  if (due.size() > static_cast<size_t>(std::max(limit, 0))) due.resize(limit);
  return due;
}

absl::StatusOr<std::vector<DeliveryRecord>> DeliveryQueue::NextDueInPartitions(
    absl::Time now, int limit, SkipFn skip,
    std::vector<DeliveryRecord>* spare) {
  const PartitionOwnership* ownership =
      ownership_.load(std::memory_order_acquire);
  std::vector<int> owned =
      ownership != nullptr ? ownership->Owned() : std::vector<int>();
  if (owned.empty() || limit <= 0) return std::vector<DeliveryRecord>();
  // Entries noted from here on may be missed by this scan; they lower the
  // marks for the next one.
  const int64_t noted = noted_min_.exchange(kNothingQueued);
  const bool from_heads = now - last_head_scan_ >= kPartitionHeadScanInterval;
  if (from_heads) last_head_scan_ = now;
  absl::StatusOr<std::vector<DeliveryRecord>> due =
      ReadPartitions(now, limit, skip, spare, owned, noted, from_heads);
  if (!due.ok()) {
    // Nothing was taken: the next scan reads what this one was to read.
    NoteEnqueued(noted);
    if (from_heads) last_head_scan_ = absl::InfinitePast();
  }
  return due;
}

absl::StatusOr<std::vector<DeliveryRecord>> DeliveryQueue::ReadPartitions(
    absl::Time now, int limit, SkipFn skip,
    std::vector<DeliveryRecord>* spare, const std::vector<int>& owned,
    int64_t noted, bool from_heads) {
  // Each held partition is read from where the last scan stopped (lowered
  // to what was noted since), and from its head every
  // kPartitionHeadScanInterval: other nodes enqueue into these partitions
  // too, at due times this node never hears of. The partitions take turns
  // at going first, so one with a long backlog cannot keep the others
  // waiting. Every partition is read in the same round trip, each for a
  // share of `limit` (twice its even share, so that partitions with little
  // due leave enough room to the others); a partition that filled its share
  // and is still needed is read further in the next round.
  std::vector<DeliveryRecord> due;
  const std::string noted_entry =
      noted == kNothingQueued
          ? std::string()
          : storage::keys::QueueEntry(
                static_cast<uint64_t>(std::max<int64_t>(0, noted)), "");
  const size_t first = next_first_partition_++ % owned.size();
  const int64_t n = static_cast<int64_t>(owned.size());
  const int64_t share =
      std::max<int64_t>(kMinPartitionShare, (2 * limit + n - 1) / n);
  const std::string end_entry = storage::keys::QueueEntry(EndMicros(now), "");
  struct Part {
    int partition;
    std::string prefix;
    std::string resume;  // where its next read starts
    bool more = true;    // its last read filled its share
  };
  std::vector<Part> parts;
  std::vector<DueCollector> collected;
  parts.reserve(owned.size());
  collected.reserve(owned.size());
  for (size_t i = 0; i < owned.size(); ++i) {
    const int partition = owned[(first + i) % owned.size()];
    std::string prefix = PartitionPrefix(partition, partitions_);
    std::string start = prefix;
    if (auto it = partition_resume_.find(partition);
        !from_heads && it != partition_resume_.end()) {
      start = it->second;
      if (!noted_entry.empty()) start = std::min(start, prefix + noted_entry);
    }
    parts.push_back(Part{partition, std::move(prefix), std::move(start)});
    collected.emplace_back(skip, spare);
  }
  size_t found = 0;
  while (found < static_cast<size_t>(limit)) {
    std::vector<storage::ScanRange> ranges;
    std::vector<size_t> part_of;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (!parts[i].more) continue;
      ranges.push_back({parts[i].resume, parts[i].prefix + end_entry, share});
      part_of.push_back(i);
    }
    if (ranges.empty()) break;
    std::vector<int64_t> rows(ranges.size(), 0);
    std::vector<std::string> last(ranges.size());
    bool corrupt = false;
    RETURN_IF_ERROR(store_->ScanRanges(
        Column::kDeliveryQueue, ranges,
        [&](size_t r, std::string_view key, std::string_view value) {
          ++rows[r];
          last[r].assign(key);
          Part& part = parts[part_of[r]];
          corrupt = !collected[part_of[r]].Add(key.substr(part.prefix.size()),
                                               value);
          return !corrupt;
        }));
    found = 0;
    for (size_t r = 0; r < ranges.size(); ++r) {
      Part& part = parts[part_of[r]];
      part.more = !corrupt && rows[r] >= share;
      // Just after the last read, or (nothing left before the end) the end.
      part.resume = part.more ? last[r] + '\0' : part.prefix + end_entry;
    }
    for (const DueCollector& c : collected) found += c.size();
    if (corrupt) break;
  }
  // One from each partition in turn, so a backlog in one cannot crowd out
  // the others within a fetch either.
  std::vector<std::vector<DeliveryRecord>> per_part;
  per_part.reserve(collected.size());
  for (DueCollector& c : collected) {
    ASSIGN_OR_RETURN(per_part.emplace_back(), Finish(c));
  }
  std::vector<size_t> taken(per_part.size(), 0);
  for (size_t k = 0; due.size() < static_cast<size_t>(limit); ++k) {
    bool any = false;
    for (size_t i = 0; i < per_part.size(); ++i) {
      if (k >= per_part[i].size()) continue;
      any = true;
      due.push_back(std::move(per_part[i][k]));
      taken[i] = k + 1;
      if (due.size() >= static_cast<size_t>(limit)) break;
    }
    if (!any) break;
  }
  // The next scan reads on from where this one stopped, or from the first
  // entry it read but did not return.
  absl::flat_hash_map<int, std::string> resume;
  resume.reserve(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string& next = resume[parts[i].partition];
    next = std::move(parts[i].resume);
    for (size_t k = taken[i]; k < per_part[i].size(); ++k) {
      next = std::min(next, QueueKey(per_part[i][k], partitions_));
      // Parsed for nothing: its storage serves the next parse.
      if (spare != nullptr) spare->push_back(std::move(per_part[i][k]));
    }
  }
  partition_resume_ = std::move(resume);
  return due;
}

absl::StatusOr<std::vector<DeliveryRecord>> DeliveryQueue::NextDue(
    absl::Time now, int limit, SkipFn skip,
    std::vector<DeliveryRecord>* spare) {
  absl::MutexLock lock(&scan_mu_);
  if (partitions_ > 1) return NextDueInPartitions(now, limit, skip, spare);
  // Entries noted from here on may be missed by this scan; they lower the
  // mark for the next one.
  const int64_t noted = noted_min_.exchange(kNothingQueued);
  const uint64_t noted_due = noted == kNothingQueued
                                 ? UINT64_MAX
                                 : static_cast<uint64_t>(noted);
  uint64_t from = std::min<uint64_t>(low_water_, noted_due);
  // Past the last entry returned, unless something was noted at its due
  // time: a commit's deliveries share one, and the scan would otherwise
  // step over those of them already taken, each time.
  std::string after_id = noted_due > low_water_ ? low_water_id_ : "";
  if (now - last_full_scan_ >= kFullScanInterval) {
    from = 0;
    after_id.clear();
    last_full_scan_ = now;
  }
  // With nothing returned, the next scan may start where this one ended.
  uint64_t last_due =
      static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMicros(now))) + 1;
  std::string last_id;
  absl::StatusOr<std::vector<DeliveryRecord>> due =
      Scan("", from, now, limit, skip, &last_due, spare, after_id, &last_id);
  low_water_ = due.ok() ? last_due : from;
  low_water_id_ = due.ok() ? std::move(last_id) : std::move(after_id);
  return due;
}

absl::StatusOr<DeliveryRecord> DeliveryQueue::Get(std::string_view id) const {
  // The queue key at the initial due time first: while it exists it holds
  // the current record, and the write that removes it also writes the
  // record by id, so when it is absent the record by id is there already.
  if (const std::optional<std::string> initial =
          InitialQueueKey(id, partitions_);
      initial.has_value()) {
    ASSIGN_OR_RETURN(std::optional<std::string> queued,
                     store_->Get(Column::kDeliveryQueue, *initial));
    if (queued.has_value() && !queued->empty()) return Parse(id, *queued);
  }
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_->Get(Column::kDeliveries, id));
  if (!bytes.has_value()) {
    return absl::NotFoundError(StrCat("delivery \"", id, "\" not found"));
  }
  return Parse(id, *bytes);
}

absl::StatusOr<int64_t> DeliveryQueue::Depth() const {
  return store_->Count(Column::kDeliveryQueue);
}

}  // namespace webhooks::core
