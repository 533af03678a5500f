// PostgresStore's cluster parts against a real PostgreSQL (one server for
// the binary, a fresh database per test; postgres_test_database.h): the
// change feed that keeps every node's caches current, its trimming, and the
// partition leases.
#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/postgres_store.h"
#include "storage/postgres_test_database.h"

namespace webhooks::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(PostgresStoreTest, ChangeFeedRecordsFedWritesOnceInOrder) {
  std::unique_ptr<PostgresStore> store = OpenOrDie({.dsn = NewDatabase()});
  ASSERT_TRUE(store);
  auto write = [&](auto fill) {
    WriteBatch batch;
    fill(batch);
    ASSERT_EQ(store->Write(batch), absl::OkStatus());
  };
  write([](WriteBatch& b) {
    b.Put(Column::kSubscriptions, "s1", "1");
    b.Put(Column::kMeta, "not-fed", "x");
    b.Put(Column::kDeliveries, "not-fed", "x");
  });
  write([](WriteBatch& b) {
    b.Put(Column::kPrincipals, "p1", "1");
    b.Put(Column::kPrincipals, "p1", "2");  // one change: the key changed
  });
  write([](WriteBatch& b) {
    b.Delete(Column::kSubscriptions, "s1");
    b.Put(Column::kDialects, "d1", "1");
  });
  absl::StatusOr<ChangeBatch> all = store->ChangesAfter(0, 100);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_FALSE(all->gap);
  EXPECT_EQ(all->latest, 4u);
  std::vector<std::string> seen;
  for (const Change& c : all->changes) {
    seen.push_back(absl::StrCat(c.seq, ":", std::string(ColumnName(c.column)),
                                ":", c.key));
  }
  EXPECT_THAT(seen, ElementsAre("1:subscriptions:s1", "2:principals:p1",
                                "3:subscriptions:s1", "4:dialects:d1"));
  absl::StatusOr<ChangeBatch> page = store->ChangesAfter(1, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->changes.size(), 2u);
  EXPECT_EQ(page->changes[0].seq, 2u);
  EXPECT_EQ(page->changes[1].seq, 3u);
  EXPECT_FALSE(page->gap);
  absl::StatusOr<ChangeBatch> none = store->ChangesAfter(4, 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->changes.empty());
  EXPECT_FALSE(none->gap);
  EXPECT_EQ(none->latest, 4u);
}

// Writer A takes its sequence number and stops before COMMIT; writer B
// (another node) writes meanwhile. B must wait for A (the counter row), so a
// reader never sees B's change before A's and never skips A's.
TEST(PostgresStoreTest, ChangeFeedNeverSkipsAChangeThatCommitsLate) {
  const std::string dsn = NewDatabase();
  std::atomic<bool> armed{false};
  absl::Notification a_holding, release_a;
  PostgresOptions options_a{.dsn = dsn};
  options_a.before_commit_for_test = [&] {
    if (!armed.exchange(false)) return;
    a_holding.Notify();
    release_a.WaitForNotification();
  };
  std::unique_ptr<PostgresStore> a = OpenOrDie(options_a);
  std::unique_ptr<PostgresStore> b = OpenOrDie({.dsn = dsn});
  ASSERT_TRUE(a && b);

  std::atomic<bool> stop_reader{false};
  std::atomic<int> reads{0};
  std::vector<std::string> order;  // the reader's, in the order seen
  std::thread reader([&] {
    uint64_t after = 0;
    while (!stop_reader.load() || order.size() < 2) {
      absl::StatusOr<ChangeBatch> batch = b->ChangesAfter(after, 10);
      if (!batch.ok()) {
        ADD_FAILURE() << batch.status();
        return;
      }
      EXPECT_FALSE(batch->gap);
      for (const Change& c : batch->changes) {
        EXPECT_EQ(c.seq, after + 1) << "skipped a change";
        after = c.seq;
        order.push_back(c.key);
      }
      reads.fetch_add(1);
    }
  });

  armed = true;
  std::thread writer_a([&] {
    WriteBatch batch;
    batch.Put(Column::kSubscriptions, "a", "1");
    EXPECT_EQ(a->Write(batch), absl::OkStatus());
  });
  a_holding.WaitForNotification();
  std::atomic<bool> b_done{false};
  std::thread writer_b([&] {
    WriteBatch batch;
    batch.Put(Column::kSubscriptions, "b", "1");
    EXPECT_EQ(b->Write(batch), absl::OkStatus());
    b_done = true;
  });
  // While A holds the counter: B cannot commit and the reader sees nothing.
  const int reads_before = reads.load();
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_GT(reads.load(), reads_before + 3);
  EXPECT_FALSE(b_done.load());
  release_a.Notify();
  writer_a.join();
  writer_b.join();
  stop_reader = true;
  reader.join();
  EXPECT_THAT(order, ElementsAre("a", "b"));
}

TEST(PostgresStoreTest, TrimKeepsTheNewestAndReportsGaps) {
  std::unique_ptr<PostgresStore> store = OpenOrDie({.dsn = NewDatabase()});
  ASSERT_TRUE(store);
  for (const char* key : {"x", "y", "z"}) {
    WriteBatch batch;
    batch.Put(Column::kDialects, key, "v");
    ASSERT_EQ(store->Write(batch), absl::OkStatus());
  }
  absl::StatusOr<int64_t> kept = store->TrimChanges(absl::Hours(1));
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(*kept, 0);
  absl::SleepFor(absl::Milliseconds(5));
  absl::StatusOr<int64_t> trimmed = store->TrimChanges(absl::ZeroDuration());
  ASSERT_TRUE(trimmed.ok()) << trimmed.status();
  EXPECT_EQ(*trimmed, 2);  // the newest stays

  absl::StatusOr<ChangeBatch> from0 = store->ChangesAfter(0, 10);
  ASSERT_TRUE(from0.ok());
  EXPECT_TRUE(from0->gap);
  EXPECT_EQ(from0->latest, 3u);
  absl::StatusOr<ChangeBatch> from2 = store->ChangesAfter(2, 10);
  ASSERT_TRUE(from2.ok());
  EXPECT_FALSE(from2->gap);
  ASSERT_EQ(from2->changes.size(), 1u);
  EXPECT_EQ(from2->changes[0].key, "z");
  absl::StatusOr<ChangeBatch> from3 = store->ChangesAfter(3, 10);
  ASSERT_TRUE(from3.ok());
  EXPECT_FALSE(from3->gap);
  absl::StatusOr<ChangeBatch> beyond = store->ChangesAfter(9, 10);
  ASSERT_TRUE(beyond.ok());
  EXPECT_TRUE(beyond->gap);  // the feed is behind the reader: reload
}

std::vector<int> Partitions(const std::vector<PartitionLease>& leases) {
  std::vector<int> out;
  for (const PartitionLease& l : leases) out.push_back(l.partition);
  return out;
}

TEST(PostgresStoreTest, LeasesClaimRenewReleaseAndExpire) {
  std::unique_ptr<PostgresStore> store =
      OpenOrDie({.dsn = NewDatabase(), .partitions = 4});
  ASSERT_TRUE(store);
  EXPECT_EQ(store->partition_count(), 4);
  const absl::Duration ttl = absl::Seconds(30);

  absl::StatusOr<std::vector<PartitionLease>> a = store->ClaimLeases("a", 3, ttl);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_THAT(Partitions(*a), ElementsAre(0, 1, 2));
  for (const PartitionLease& l : *a) EXPECT_EQ(l.epoch, 1);
  absl::StatusOr<std::vector<PartitionLease>> b = store->ClaimLeases("b", 3, ttl);
  ASSERT_TRUE(b.ok());
  EXPECT_THAT(Partitions(*b), ElementsAre(3));
  EXPECT_THAT(Partitions(*store->ClaimLeases("b", 3, ttl)), ElementsAre());
  EXPECT_THAT(Partitions(*store->RenewLeases("a", ttl)), ElementsAre(0, 1, 2));

  ASSERT_EQ(store->ReleaseLeases("a", {0, 3}), absl::OkStatus());  // 3: b's
  absl::StatusOr<std::vector<PartitionLease>> b2 = store->ClaimLeases("b", 3, ttl);
  ASSERT_TRUE(b2.ok());
  ASSERT_THAT(Partitions(*b2), ElementsAre(0));
  EXPECT_EQ((*b2)[0].epoch, 2);

  // a's leases expire (short ttl): b takes them over, a cannot renew them.
  ASSERT_TRUE(store->RenewLeases("a", absl::Milliseconds(100)).ok());
  absl::SleepFor(absl::Milliseconds(300));
  absl::StatusOr<std::vector<PartitionLease>> b3 = store->ClaimLeases("b", 9, ttl);
  ASSERT_TRUE(b3.ok());
  EXPECT_THAT(Partitions(*b3), ElementsAre(1, 2));
  for (const PartitionLease& l : *b3) EXPECT_EQ(l.epoch, 2);
  EXPECT_THAT(Partitions(*store->RenewLeases("a", ttl)), ElementsAre());
  EXPECT_THAT(Partitions(*store->RenewLeases("b", ttl)),
              ElementsAre(0, 1, 2, 3));

  absl::StatusOr<std::vector<LeaseRow>> rows = store->ListLeases();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 4u);
  for (const LeaseRow& row : *rows) {
    EXPECT_EQ(row.owner, "b");
    EXPECT_GT(row.expires_in, absl::Seconds(20));
  }

  // Membership.
  EXPECT_EQ(*store->Heartbeat("a", absl::Seconds(10)), 1);
  EXPECT_EQ(*store->Heartbeat("b", absl::Seconds(10)), 2);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(*store->Heartbeat("a", absl::Milliseconds(100)), 1);
  EXPECT_EQ(*store->Heartbeat("a", absl::Seconds(10)), 2);
  ASSERT_EQ(store->Leave("b"), absl::OkStatus());
  EXPECT_EQ(*store->Heartbeat("a", absl::Seconds(10)), 1);
  rows = store->ListLeases();
  ASSERT_TRUE(rows.ok());
  for (const LeaseRow& row : *rows) {
    EXPECT_EQ(row.owner, "");
    EXPECT_LT(row.expires_in, absl::ZeroDuration());
  }
  absl::StatusOr<std::vector<PartitionLease>> a2 = store->ClaimLeases("a", 9, ttl);
  ASSERT_TRUE(a2.ok());
  EXPECT_THAT(Partitions(*a2), ElementsAre(0, 1, 2, 3));
  // One more than the last owner's: b held 0-2 at epoch 2, 3 at epoch 1.
  ASSERT_EQ(a2->size(), 4u);
  EXPECT_EQ((*a2)[0].epoch, 3);
  EXPECT_EQ((*a2)[1].epoch, 3);
  EXPECT_EQ((*a2)[2].epoch, 3);
  EXPECT_EQ((*a2)[3].epoch, 2);
}

TEST(PostgresStoreTest, ConcurrentClaimsNeverShareAPartition) {
  const std::string dsn = NewDatabase();
  std::unique_ptr<PostgresStore> a = OpenOrDie({.dsn = dsn, .partitions = 16});
  std::unique_ptr<PostgresStore> b = OpenOrDie({.dsn = dsn});
  ASSERT_TRUE(a && b);
  std::vector<int> got[2];
  std::thread ta([&] { got[0] = Partitions(*a->ClaimLeases("a", 12, absl::Seconds(30))); });
  std::thread tb([&] { got[1] = Partitions(*b->ClaimLeases("b", 12, absl::Seconds(30))); });
  ta.join();
  tb.join();
  std::vector<int> all = got[0];
  all.insert(all.end(), got[1].begin(), got[1].end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::unique(all.begin(), all.end()), all.end());
  EXPECT_EQ(all.size(), 16u);
}

}  // namespace
}  // namespace webhooks::storage
