#include "core/delivery_queue.h"

#include <algorithm>
#include <optional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/random.h"
#include "gtest/gtest.h"
#include "storage/key_codec.h"
#include "storage/memory_store.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::core {
namespace {

DeliveryRecord Delivery(std::string id, int64_t due_micros) {
  DeliveryRecord d;
  d.set_id(std::move(id));
  d.set_state(DeliveryRecord::PENDING);
  d.set_next_attempt_micros(due_micros);
  return d;
}

class DeliveryQueueTest : public ::testing::Test {
 protected:
  void Apply(const DeliveryRecord* before, const DeliveryRecord& after) {
    storage::WriteBatch batch;
    DeliveryQueue::StageUpdate(before, after, batch);
    ASSERT_TRUE(store_.Write(batch).ok());
  }
  std::vector<std::string> DueIds(int64_t now_micros, int limit = 100) {
    std::vector<std::string> ids;
    auto due = queue_.Due(absl::FromUnixMicros(now_micros), limit);
    EXPECT_TRUE(due.ok()) << due.status();
    for (const auto& d : *due) ids.push_back(d.id());
    return ids;
  }

  storage::MemoryStore store_;
  DeliveryQueue queue_{&store_};
};

TEST_F(DeliveryQueueTest, DueInTimeOrderUpToNow) {
  Apply(nullptr, Delivery("c", 300));
  Apply(nullptr, Delivery("a", 100));
  Apply(nullptr, Delivery("b", 200));
  EXPECT_EQ(DueIds(99), std::vector<std::string>{});
  EXPECT_EQ(DueIds(200), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(DueIds(1000), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(DueIds(1000, 2), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*queue_.Depth(), 3);
}

TEST_F(DeliveryQueueTest, RescheduleMovesAndResolveRemoves) {
  DeliveryRecord a = Delivery("a", 100);
  Apply(nullptr, a);
  DeliveryRecord later = a;
  later.set_next_attempt_micros(500);
  later.set_attempt_count(1);
  Apply(&a, later);
  EXPECT_EQ(DueIds(400), std::vector<std::string>{});
  EXPECT_EQ(DueIds(500), std::vector<std::string>{"a"});
  DeliveryRecord done = later;
  done.set_state(DeliveryRecord::SUCCEEDED);
  Apply(&later, done);
  EXPECT_EQ(DueIds(10000), std::vector<std::string>{});
  EXPECT_EQ(*queue_.Depth(), 0);
  absl::StatusOr<DeliveryRecord> kept = queue_.Get("a");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->state(), DeliveryRecord::SUCCEEDED);
  EXPECT_EQ(kept->attempt_count(), 1);
  EXPECT_EQ(queue_.Get("zzz").status().code(), absl::StatusCode::kNotFound);
}

// A new delivery due at the time its id carries is written once, to the
// queue; Get finds it there, and by id once it has changed.
TEST_F(DeliveryQueueTest, NewDeliveryLivesInTheQueueUntilItChanges) {
  SeededRandom random(1);
  const std::string id =
      NewId(DeliveryQueue::kIdPrefix, 1700000000123, random);
  ASSERT_EQ(DeliveryQueue::InitialDueMicros(id), 1700000000123000);
  EXPECT_EQ(DeliveryQueue::InitialDueMicros("a"), std::nullopt);
  const DeliveryRecord fresh = Delivery(id, 1700000000123000);
  const int64_t writes = store_.write_count();
  Apply(nullptr, fresh);
  ASSERT_EQ(store_.write_count(), writes + 1);
  EXPECT_EQ(*store_.Get(storage::Column::kDeliveries, id), std::nullopt);
  absl::StatusOr<DeliveryRecord> got = queue_.Get(id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->next_attempt_micros(), 1700000000123000);
  EXPECT_EQ(DueIds(1700000000123000), std::vector<std::string>{id});

  // Its first outcome moves the record to kDeliveries.
  DeliveryRecord retry = fresh;
  retry.set_attempt_count(1);
  retry.set_next_attempt_micros(1700000000999000);
  storage::WriteBatch batch;
  DeliveryQueue::StageReplacePending(fresh.next_attempt_micros(), retry, batch);
  ASSERT_TRUE(store_.Write(batch).ok());
  EXPECT_NE(*store_.Get(storage::Column::kDeliveries, id), std::nullopt);
  got = queue_.Get(id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->attempt_count(), 1);
  EXPECT_EQ(*queue_.Depth(), 1);
  DeliveryRecord done = retry;
  done.set_state(DeliveryRecord::SUCCEEDED);
  Apply(&retry, done);
  got = queue_.Get(id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->state(), DeliveryRecord::SUCCEEDED);
  EXPECT_EQ(*queue_.Depth(), 0);

  // Created due at another time (or with an id NewId did not make): both.
  const std::string later_id =
      NewId(DeliveryQueue::kIdPrefix, 1700000000123, random);
  Apply(nullptr, Delivery(later_id, 1700000005000000));
  EXPECT_NE(*store_.Get(storage::Column::kDeliveries, later_id), std::nullopt);
  Apply(nullptr, Delivery("plain", 100));
  EXPECT_NE(*store_.Get(storage::Column::kDeliveries, "plain"), std::nullopt);
}

TEST_F(DeliveryQueueTest, NextDueSkipsWithoutCountingAndStartsAtLowWater) {
  Apply(nullptr, Delivery("a", 100));
  Apply(nullptr, Delivery("b", 200));
  Apply(nullptr, Delivery("c", 300));
  const auto next = [&](int64_t now, int limit, std::string skip_id = "") {
    std::vector<std::string> ids;
    auto due = queue_.NextDue(absl::FromUnixMicros(now), limit,
                              [&](std::string_view id) { return id == skip_id; });
    EXPECT_TRUE(due.ok()) << due.status();
    for (const auto& d : *due) ids.push_back(d.id());
    return ids;
  };
  EXPECT_EQ(next(1000, 2, "a"), (std::vector<std::string>{"b", "c"}));
  // The next scan starts past the last one returned ("c")...
  EXPECT_EQ(next(1000, 5), std::vector<std::string>{});
  // ...unless the caller notes what it left pending.
  queue_.NoteEnqueued(100);
  EXPECT_EQ(next(1000, 1), (std::vector<std::string>{"a"}));
  EXPECT_EQ(next(1000, 5), (std::vector<std::string>{"b", "c"}));
  queue_.NoteEnqueued(300);  // at the mark's own due time: "c" again
  EXPECT_EQ(next(1000, 5), (std::vector<std::string>{"c"}));

  // Resolve everything: the next scan finds nothing and moves the mark to
  // the end of what it scanned.
  for (const char* id : {"a", "b", "c"}) {
    DeliveryRecord before = *queue_.Get(id);
    DeliveryRecord done = before;
    done.set_state(DeliveryRecord::SUCCEEDED);
    Apply(&before, done);
  }
  EXPECT_EQ(next(2000, 10), std::vector<std::string>{});

  // An entry due before the mark is found once it is noted.
  storage::WriteBatch batch;
  int64_t queued = DeliveryQueue::kNothingQueued;
  DeliveryQueue::StageUpdate(nullptr, Delivery("late", 150), batch, &queued);
  EXPECT_EQ(queued, 150);
  ASSERT_TRUE(store_.Write(batch).ok());
  queue_.NoteEnqueued(queued);
  EXPECT_EQ(next(2001, 10), std::vector<std::string>{"late"});
  // The mark stays just past the last entry returned.
  EXPECT_EQ(next(2002, 10), std::vector<std::string>{});
}

// A commit's deliveries share one due time: a scan resumes past the last it
// returned instead of stepping over the others again, and one noted at
// that time (say, a new id sorting first) is still found.
TEST_F(DeliveryQueueTest, NextDueResumesWithinOneDueTime) {
  for (const char* id : {"b", "c", "d", "e", "f"}) Apply(nullptr, Delivery(id, 100));
  int visited = 0;
  const auto next = [&](int limit) {
    std::vector<std::string> ids;
    auto due = queue_.NextDue(absl::FromUnixMicros(1000), limit,
                              [&](std::string_view) {
                                ++visited;
                                return false;
                              });
    EXPECT_TRUE(due.ok()) << due.status();
    for (const auto& d : *due) ids.push_back(d.id());
    return ids;
  };
  EXPECT_EQ(next(2), (std::vector<std::string>{"b", "c"}));
  visited = 0;
  EXPECT_EQ(next(2), (std::vector<std::string>{"d", "e"}));
  EXPECT_EQ(visited, 2);  // "b" and "c" were not stepped over again
  Apply(nullptr, Delivery("a", 100));
  queue_.NoteEnqueued(100);
  EXPECT_EQ(next(10), (std::vector<std::string>{"a", "b", "c", "d", "e", "f"}));
}

TEST_F(DeliveryQueueTest, ReadsQueueEntriesWithoutACopyOfTheRecord) {
  // As queue entries were written before they held the record.
  DeliveryRecord a = Delivery("a", 100);
  storage::WriteBatch batch;
  batch.Put(storage::Column::kDeliveries, "a", a.SerializeAsString());
  batch.Put(storage::Column::kDeliveryQueue,
            storage::keys::QueueEntry(100, "a"), "");
  ASSERT_TRUE(store_.Write(batch).ok());
  Apply(nullptr, Delivery("b", 50));
  EXPECT_EQ(DueIds(1000), (std::vector<std::string>{"b", "a"}));
}

TEST_F(DeliveryQueueTest, NextDueParsesIntoSpareRecordsAsIfFresh) {
  DeliveryRecord a = Delivery("a", 100);
  a.set_subscription_id("sub_a");
  Apply(nullptr, a);
  Apply(nullptr, Delivery("b", 200));
  // Spares still holding another delivery's fields: nothing of them shows.
  DeliveryRecord stale = Delivery("stale", 7);
  stale.set_subscription_id("sub_stale");
  stale.set_attempt_count(3);
  std::vector<DeliveryRecord> spare(1, stale);
  auto due = queue_.NextDue(absl::FromUnixMicros(1000), 10,
                            [](std::string_view) { return false; }, &spare);
  ASSERT_TRUE(due.ok()) << due.status();
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].SerializeAsString(), a.SerializeAsString());
  EXPECT_EQ((*due)[1].SerializeAsString(), Delivery("b", 200).SerializeAsString());
  EXPECT_TRUE(spare.empty());  // the one spare was used, then fresh ones

  // A corrupt entry is reported as before, with spares or without.
  storage::WriteBatch batch;
  batch.Put(storage::Column::kDeliveryQueue,
            storage::keys::QueueEntry(300, "bad"), "\xff\xff\xff");
  ASSERT_TRUE(store_.Write(batch).ok());
  queue_.NoteEnqueued(0);
  spare.assign(3, stale);
  due = queue_.NextDue(absl::FromUnixMicros(1000), 10,
                       [](std::string_view) { return false; }, &spare);
  EXPECT_EQ(due.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(due.status().message().find("\"bad\""), std::string::npos)
      << due.status();
}

TEST_F(DeliveryQueueTest, NextDueRescansFromTheHeadPeriodically) {
  const int64_t t0 = 1'000'000'000;
  auto due = queue_.NextDue(absl::FromUnixMicros(t0), 10,
                            [](std::string_view) { return false; });
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty());
  // Written without NoteEnqueued (a writer that forgot): missed at first...
  Apply(nullptr, Delivery("unnoted", 5));
  due = queue_.NextDue(absl::FromUnixMicros(t0 + 1), 10,
                       [](std::string_view) { return false; });
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty());
  // ...and found by the periodic scan from the head.
  due = queue_.NextDue(
      absl::FromUnixMicros(t0) + DeliveryQueue::kFullScanInterval, 10,
      [](std::string_view) { return false; });
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].id(), "unnoted");
}


// Counts the ScanRanges calls (round trips, for a store across a network).
class CountingStore final : public storage::Store {
 public:
  absl::StatusOr<std::optional<std::string>> Get(
      storage::Column column, std::string_view key) const override {
    return inner_.Get(column, key);
  }
  absl::Status Write(const storage::WriteBatch& batch,
                     storage::WriteOptions options = {}) override {
    return inner_.Write(batch, options);
  }
  absl::Status Scan(storage::Column column, std::string_view start,
                    std::string_view end,
                    storage::ScanVisitor visitor) const override {
    return inner_.Scan(column, start, end, visitor);
  }
  absl::Status ScanRanges(storage::Column column,
                          std::span<const storage::ScanRange> ranges,
                          storage::RangeVisitor visitor) const override {
    ++range_scans;
    if (fail_next_range_scan) {
      fail_next_range_scan = false;
      return absl::UnavailableError("store down");
    }
    return Store::ScanRanges(
        column, ranges,
        [&](size_t r, std::string_view key, std::string_view value) {
          ++rows_read;
          return visitor(r, key, value);
        });
  }
  mutable int range_scans = 0;
  mutable int rows_read = 0;
  mutable bool fail_next_range_scan = false;

 private:
  storage::MemoryStore inner_;
};

class OwnAll final : public PartitionOwnership {
 public:
  explicit OwnAll(std::vector<int> owned) : owned_(std::move(owned)) {}
  std::vector<int> Owned() const override { return owned_; }
  bool Holds(int partition) const override {
    return std::find(owned_.begin(), owned_.end(), partition) != owned_.end();
  }
  void Set(std::vector<int> owned) { owned_ = std::move(owned); }

 private:
  std::vector<int> owned_;
};

class PartitionedQueueTest : public ::testing::Test {
 protected:
  static constexpr int kPartitions = 8;
  void SetUp() override {
    // A subscription id for each partition.
    for (int i = 0; subscription_of_.size() < kPartitions; ++i) {
      const std::string id = "sub_" + std::to_string(i);
      const int p = DeliveryQueue::PartitionOf(id, kPartitions);
      if (!subscription_of_.contains(p)) subscription_of_[p] = id;
    }
  }
  // `count` deliveries "dlv_p<partition>_<first + i>", due at 1000 + first
  // + i microseconds.
  void Enqueue(int partition, int count, int first = 0) {
    storage::WriteBatch batch;
    for (int i = first; i < first + count; ++i) {
      DeliveryRecord d = Delivery(
          "dlv_p" + std::to_string(partition) + "_" + std::to_string(i),
          1000 + i);
      d.set_subscription_id(subscription_of_[partition]);
      DeliveryQueue::StageUpdate(nullptr, d, batch, nullptr, kPartitions);
    }
    ASSERT_TRUE(store_.Write(batch).ok());
  }
  // One delivery in `partition` due at `due_micros`.
  void EnqueueAt(int partition, std::string id, int64_t due_micros) {
    storage::WriteBatch batch;
    DeliveryRecord d = Delivery(std::move(id), due_micros);
    d.set_subscription_id(subscription_of_[partition]);
    DeliveryQueue::StageUpdate(nullptr, d, batch, nullptr, kPartitions);
    ASSERT_TRUE(store_.Write(batch).ok());
  }
  std::vector<std::string> Next(int limit,
                                DeliveryQueue::SkipFn skip =
                                    [](std::string_view) { return false; },
                                absl::Time now = absl::FromUnixMicros(5000)) {
    std::vector<std::string> ids;
    auto due = queue_.NextDue(now, limit, skip);
    EXPECT_TRUE(due.ok()) << due.status();
    if (due.ok()) {
      for (const auto& d : *due) ids.push_back(d.id());
    }
    return ids;
  }
  // As the dispatcher takes: NextDue skipping what is being sent, and what
  // it returns is sent from then on.
  std::vector<std::string> Take(int limit, absl::Time now) {
    std::vector<std::string> ids = Next(
        limit,
        [&](std::string_view id) {
          return sending_.contains(std::string(id));
        },
        now);
    sending_.insert(ids.begin(), ids.end());
    return ids;
  }
  static int PartitionOfId(std::string_view id) {
    return id[5] - '0';  // "dlv_p<partition>_..."
  }

  std::map<int, std::string> subscription_of_;
  std::set<std::string> sending_;
  CountingStore store_;
  DeliveryQueue queue_{&store_, kPartitions};
};

TEST_F(PartitionedQueueTest, EveryOwnedPartitionIsReadInOneRoundTrip) {
  OwnAll ownership({0, 1, 2, 3, 4, 5, 6});  // not 7
  queue_.SetOwnership(&ownership);
  Enqueue(0, 100);  // a backlog
  for (int p = 1; p < kPartitions; ++p) Enqueue(p, 1);
  const std::vector<std::string> ids = Next(20);
  EXPECT_EQ(store_.range_scans, 1);
  ASSERT_EQ(ids.size(), 20u);
  std::set<int> partitions;
  for (const std::string& id : ids) partitions.insert(PartitionOfId(id));
  // The backlog did not crowd out the others; the unowned one is not read.
  EXPECT_EQ(partitions, (std::set<int>{0, 1, 2, 3, 4, 5, 6}));
}

TEST_F(PartitionedQueueTest, AFullShareIsReadFurtherUntilTheLimit) {
  OwnAll ownership({0, 1});
  queue_.SetOwnership(&ownership);
  Enqueue(0, 100);
  Enqueue(1, 2);
  // Skipped (busy) entries take room in a read but not in the answer.
  const std::vector<std::string> ids = Next(60, [](std::string_view id) {
    return id.starts_with("dlv_p0_") && id.size() == 8;  // p0_0 .. p0_9
  });
  ASSERT_EQ(ids.size(), 60u);
  EXPECT_GT(store_.range_scans, 1);
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size());
  EXPECT_TRUE(unique.contains("dlv_p1_0") && unique.contains("dlv_p1_1"));
  EXPECT_FALSE(unique.contains("dlv_p0_9"));
  EXPECT_TRUE(unique.contains("dlv_p0_10"));
  // Everything, when the limit allows (read from the heads: see below).
  EXPECT_EQ(Next(1000, [](std::string_view) { return false; },
                 absl::FromUnixMicros(5000) +
                     DeliveryQueue::kPartitionHeadScanInterval)
                .size(),
            102u);
}

// The dispatcher skips what it is sending. Until the next scan from the
// heads a partition is read on from where the last scan stopped, so those
// entries are not read again and again.
TEST_F(PartitionedQueueTest, ReadsOnPastWhatItTookUntilTheNextHeadScan) {
  OwnAll ownership({0, 1});
  queue_.SetOwnership(&ownership);
  Enqueue(0, 30);
  Enqueue(1, 30);
  const absl::Time t0 = absl::FromUnixMicros(5000);
  std::vector<std::string> ids = Take(1000, t0);
  ASSERT_EQ(ids.size(), 60u);
  EXPECT_EQ(store_.rows_read, 60);
  // Two more, written by this process and noted.
  Enqueue(0, 1, 30);
  Enqueue(1, 1, 30);
  queue_.NoteEnqueued(1030);
  store_.rows_read = 0;
  ids = Take(1000, t0 + absl::Milliseconds(1));
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"dlv_p0_30", "dlv_p1_30"}));
  EXPECT_EQ(store_.rows_read, 2);  // not the 60 being sent
  // The next scan from the heads steps over everything being sent.
  store_.rows_read = 0;
  ids = Take(1000, t0 + DeliveryQueue::kPartitionHeadScanInterval);
  EXPECT_TRUE(ids.empty());
  EXPECT_EQ(store_.rows_read, 62);
}

// Another node enqueues into these partitions without telling this one: an
// entry behind where the last scan stopped waits for the next head scan;
// one ahead of it is read at once.
TEST_F(PartitionedQueueTest, WhatOtherNodesEnqueueBehindIsFoundFromTheHeads) {
  OwnAll ownership({0, 1});
  queue_.SetOwnership(&ownership);
  Enqueue(0, 5);
  const absl::Time t0 = absl::FromUnixMicros(5000);
  std::vector<std::string> ids = Take(100, t0);
  ASSERT_EQ(ids.size(), 5u);
  // None noted. Both partitions were read up to t0 (partition 1 had
  // nothing): entries due before it are behind, one due after is not.
  EnqueueAt(0, "dlv_behind", 1002);
  EnqueueAt(1, "dlv_behind_too", 4000);
  EnqueueAt(0, "dlv_later", 5500);
  ids = Take(100, t0 + absl::Milliseconds(1));
  EXPECT_EQ(ids, (std::vector<std::string>{"dlv_later"}));
  ids = Take(100, t0 + DeliveryQueue::kPartitionHeadScanInterval);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"dlv_behind", "dlv_behind_too"}));
}

// Noted entries lower where each partition is read from.
TEST_F(PartitionedQueueTest, NotedEntriesAreReadAtOnce) {
  OwnAll ownership({0, 1});
  queue_.SetOwnership(&ownership);
  Enqueue(0, 5);
  Enqueue(1, 5);
  const absl::Time t0 = absl::FromUnixMicros(5000);
  std::vector<std::string> ids = Take(100, t0);
  ASSERT_EQ(ids.size(), 10u);
  // A lease given up unsent (say, a failed outcome write) is noted.
  sending_.erase("dlv_p1_2");
  queue_.NoteEnqueued(1002);
  EnqueueAt(0, "dlv_retry", 1001);
  queue_.NoteEnqueued(1001);
  ids = Take(100, t0 + absl::Milliseconds(1));
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"dlv_p1_2", "dlv_retry"}));
}

// What a scan read but left out (beyond its limit) comes first next time.
TEST_F(PartitionedQueueTest, EntriesReadButNotReturnedAreNotSkipped) {
  OwnAll ownership({0, 1});
  queue_.SetOwnership(&ownership);
  Enqueue(0, 40);
  Enqueue(1, 3);
  const absl::Time t0 = absl::FromUnixMicros(5000);
  std::vector<std::string> all;
  for (int i = 0; i < 10; ++i) {
    std::vector<std::string> ids = Take(5, t0 + absl::Microseconds(i));
    all.insert(all.end(), ids.begin(), ids.end());
  }
  EXPECT_EQ(all.size(), 43u);
  EXPECT_EQ(sending_.size(), 43u);  // each once
}

// Records parsed beyond the limit are handed back as spares (their storage
// serves the next parse), and are read again next time.
TEST_F(PartitionedQueueTest, RecordsReadBeyondTheLimitBecomeSpares) {
  OwnAll ownership({0, 1});
  queue_.SetOwnership(&ownership);
  Enqueue(0, 40);
  Enqueue(1, 40);
  std::vector<DeliveryRecord> spare;
  const auto none = [](std::string_view) { return false; };
  auto due = queue_.NextDue(absl::FromUnixMicros(5000), 5, none, &spare);
  ASSERT_TRUE(due.ok()) << due.status();
  ASSERT_EQ(due->size(), 5u);
  // Each partition was read for its share (16): 32 parsed, 5 taken.
  EXPECT_EQ(spare.size(), 27u);
  std::set<std::string> taken;
  for (const DeliveryRecord& d : *due) taken.insert(d.id());
  due = queue_.NextDue(absl::FromUnixMicros(5001), 5,
                       [&](std::string_view id) {
                         return taken.contains(std::string(id));
                       },
                       &spare);
  ASSERT_TRUE(due.ok()) << due.status();
  ASSERT_EQ(due->size(), 5u);
  for (const DeliveryRecord& d : *due) {
    EXPECT_FALSE(taken.contains(d.id())) << d.id();
    EXPECT_EQ(d.SerializeAsString(),
              [&] {
                DeliveryRecord fresh = Delivery(
                    d.id(), 1000 + std::stoi(d.id().substr(7)));
                fresh.set_subscription_id(
                    subscription_of_[PartitionOfId(d.id())]);
                return fresh.SerializeAsString();
              }());
  }
  EXPECT_EQ(spare.size(), 27u);  // 32 parsed into them, 27 handed back
}

// A scan that fails takes nothing and forgets nothing: what was noted for
// it, and a head scan that was due, carry over to the next.
TEST_F(PartitionedQueueTest, AFailedScanLeavesItsWorkToTheNext) {
  OwnAll ownership({0, 1});
  queue_.SetOwnership(&ownership);
  Enqueue(0, 3);
  const absl::Time t0 = absl::FromUnixMicros(5000);
  ASSERT_EQ(Take(100, t0).size(), 3u);
  EnqueueAt(1, "dlv_noted", 1500);
  queue_.NoteEnqueued(1500);
  store_.fail_next_range_scan = true;
  const auto none = [](std::string_view) { return false; };
  EXPECT_EQ(
      queue_.NextDue(t0 + absl::Milliseconds(1), 100, none).status().code(),
      absl::StatusCode::kUnavailable);
  EXPECT_EQ(Take(100, t0 + absl::Milliseconds(2)),
            std::vector<std::string>{"dlv_noted"});
  // Written behind the scans by another node, unnoted: the head scan due
  // fails, so the next scan reads from the heads.
  EnqueueAt(0, "dlv_behind", 1200);
  store_.fail_next_range_scan = true;
  const absl::Time later = t0 + DeliveryQueue::kPartitionHeadScanInterval;
  EXPECT_FALSE(queue_.NextDue(later, 100, none).ok());
  EXPECT_EQ(Take(100, later + absl::Milliseconds(1)),
            std::vector<std::string>{"dlv_behind"});
}

// A partition held again after another node had it is read from its head.
TEST_F(PartitionedQueueTest, APartitionHeldAgainIsReadFromItsHead) {
  OwnAll ownership({0});
  queue_.SetOwnership(&ownership);
  Enqueue(0, 3);
  const absl::Time t0 = absl::FromUnixMicros(5000);
  const auto none = [](std::string_view) { return false; };
  std::vector<std::string> ids = Next(100, none, t0);
  ASSERT_EQ(ids.size(), 3u);
  ownership.Set({1});
  EXPECT_TRUE(Next(100, none, t0 + absl::Milliseconds(1)).empty());
  // The other node left one unsent and wrote one behind.
  EnqueueAt(0, "dlv_left", 999);
  ownership.Set({0});
  ids = Next(100, [](std::string_view id) { return id != "dlv_left"; },
             t0 + absl::Milliseconds(2));
  EXPECT_EQ(ids, (std::vector<std::string>{"dlv_left"}));
}

// As with one partition, a new delivery lives in the queue only: its id
// names its partition, so Get finds it there from the id alone.
TEST_F(PartitionedQueueTest, NewDeliveryIdsNameTheirPartition) {
  OwnAll ownership({0, 1, 2, 3, 4, 5, 6, 7});
  queue_.SetOwnership(&ownership);
  SeededRandom random(3);
  const absl::Time created = absl::FromUnixMillis(1700000000123);
  for (int p = 0; p < kPartitions; ++p) {
    const std::string id = DeliveryQueue::NewDeliveryId(
        created, subscription_of_[p], kPartitions, random);
    EXPECT_EQ(IdTag(DeliveryQueue::kIdPrefix, id), p);
    DeliveryRecord fresh = Delivery(id, 1700000000123000);
    fresh.set_subscription_id(subscription_of_[p]);
    storage::WriteBatch batch;
    DeliveryQueue::StageUpdate(nullptr, fresh, batch, nullptr, kPartitions);
    EXPECT_EQ(batch.size(), 1u);  // the queue key only
    ASSERT_TRUE(store_.Write(batch).ok());
    EXPECT_EQ(*store_.Get(storage::Column::kDeliveries, id), std::nullopt);
    absl::StatusOr<DeliveryRecord> got = queue_.Get(id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->subscription_id(), subscription_of_[p]);

    // Its outcome writes the record by id as it removes the queue key.
    DeliveryRecord done = fresh;
    done.set_attempt_count(1);
    done.set_state(DeliveryRecord::SUCCEEDED);
    batch = storage::WriteBatch();
    DeliveryQueue::StageReplacePending(fresh.next_attempt_micros(), done,
                                       batch, nullptr, kPartitions);
    ASSERT_TRUE(store_.Write(batch).ok());
    got = queue_.Get(id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->state(), DeliveryRecord::SUCCEEDED);
  }
  EXPECT_EQ(*queue_.Depth(), 0);

  // An id whose tag is not its partition (one made before ids carried
  // them, or for another partition count) is written by id too.
  std::string other;
  do {
    other = NewId(DeliveryQueue::kIdPrefix, 1700000000123, random);
  } while (IdTag(DeliveryQueue::kIdPrefix, other) == 3);
  DeliveryRecord old = Delivery(other, 1700000000123000);
  old.set_subscription_id(subscription_of_[3]);
  storage::WriteBatch batch;
  DeliveryQueue::StageUpdate(nullptr, old, batch, nullptr, kPartitions);
  ASSERT_TRUE(store_.Write(batch).ok());
  EXPECT_NE(*store_.Get(storage::Column::kDeliveries, other), std::nullopt);
  absl::StatusOr<DeliveryRecord> got = queue_.Get(other);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->subscription_id(), subscription_of_[3]);
  EXPECT_EQ(Next(10, [](std::string_view) { return false; },
                 created + absl::Milliseconds(1)),
            std::vector<std::string>{other});
  EXPECT_TRUE(absl::IsNotFound(
      queue_
          .Get(DeliveryQueue::NewDeliveryId(created, subscription_of_[5],
                                            kPartitions, random))
          .status()));
}

TEST_F(PartitionedQueueTest, NothingOwnedReadsNothing) {
  Enqueue(3, 5);
  EXPECT_TRUE(Next(10).empty());
  EXPECT_EQ(store_.range_scans, 0);
}

}  // namespace
}  // namespace webhooks::core
