// PostgresStore against a real PostgreSQL started by the test
// (tests/postgres_server.h): one server for the binary, a fresh database per
// test; the outage and failover tests start their own servers.
#include "storage/postgres_store.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
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
#include "storage/store_conformance_test.h"
#include "tests/postgres_server.h"

namespace webhooks::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using webhooks::testing::PostgresServer;

PostgresServer& SharedServer() {
  static std::unique_ptr<PostgresServer> server = [] {
    absl::StatusOr<std::unique_ptr<PostgresServer>> s =
        PostgresServer::StartNew();
    if (!s.ok()) {
      std::fprintf(stderr, "cannot start PostgreSQL: %s\n",
                   s.status().ToString().c_str());
      std::abort();
    }
    return *std::move(s);
  }();
  return *server;
}

// A DSN of a new, empty database on the shared server.
std::string NewDatabase() {
  static std::atomic<int> next{0};
  absl::StatusOr<std::string> dsn = SharedServer().CreateDatabase(
      absl::StrCat("t", getpid(), "_", next.fetch_add(1)));
  EXPECT_TRUE(dsn.ok()) << dsn.status();
  return dsn.ok() ? *dsn : "";
}

std::string DatabaseOf(const std::string& dsn) {
  return dsn.substr(dsn.rfind('=') + 1);
}

std::unique_ptr<PostgresStore> OpenOrDie(PostgresOptions options) {
  absl::StatusOr<std::unique_ptr<PostgresStore>> store =
      PostgresStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

struct PostgresEnv {
  absl::StatusOr<StorePtr> NewStore() {
    absl::StatusOr<std::unique_ptr<PostgresStore>> store =
        PostgresStore::Open({.dsn = NewDatabase()});
    if (!store.ok()) return store.status();
    return StorePtr(*std::move(store));
  }
};

}  // namespace

namespace conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, StoreConformanceTest, PostgresEnv);
}  // namespace conformance

namespace {

// Adds one to the decimal counter at kMeta/`key`, read-expect-write, retrying
// on expectation failures. Returns the number of retries.
int Increment(Store& store, const std::string& key) {
  for (int retries = 0;; ++retries) {
    absl::StatusOr<std::optional<std::string>> current =
        store.Get(Column::kMeta, key);
    if (!current.ok()) {
      ADD_FAILURE() << current.status();
      return retries;
    }
    const int value = current->has_value() ? std::stoi(**current) : 0;
    WriteBatch batch;
    batch.Expect(Column::kMeta, key, *current);
    batch.Put(Column::kMeta, key, std::to_string(value + 1));
    absl::Status status = store.Write(batch);
    if (status.ok()) return retries;
    if (!IsExpectationFailure(status)) {
      ADD_FAILURE() << status;
      return retries;
    }
  }
}

TEST(PostgresStoreTest, TwoNodesConditionalIncrementsLoseNothing) {
  const std::string dsn = NewDatabase();
  std::unique_ptr<PostgresStore> a = OpenOrDie({.dsn = dsn});
  std::unique_ptr<PostgresStore> b = OpenOrDie({.dsn = dsn});
  ASSERT_TRUE(a && b);
  constexpr int kPerThread = 25;
  std::atomic<int> retries{0};
  std::vector<std::thread> threads;
  for (PostgresStore* store : {a.get(), a.get(), b.get(), b.get()}) {
    threads.emplace_back([&, store] {
      for (int i = 0; i < kPerThread; ++i) retries += Increment(*store, "n");
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(conformance::GetOrAbsent(*b, Column::kMeta, "n"),
            std::to_string(4 * kPerThread));
  std::printf("4 threads on 2 stores: %d increments, %d retries\n",
              4 * kPerThread, retries.load());
}

TEST(PostgresStoreTest, ExactlyOneOfTwoRacingCreatesWins) {
  const std::string dsn = NewDatabase();
  std::unique_ptr<PostgresStore> a = OpenOrDie({.dsn = dsn});
  std::unique_ptr<PostgresStore> b = OpenOrDie({.dsn = dsn});
  ASSERT_TRUE(a && b);
  for (int round = 0; round < 20; ++round) {
    const std::string key = absl::StrCat("sub", round);
    absl::Status results[2];
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&, i] {
        WriteBatch batch;
        batch.Expect(Column::kSubscriptions, key, std::nullopt);
        batch.Put(Column::kSubscriptions, key, i == 0 ? "a" : "b");
        results[i] = (i == 0 ? a : b)->Write(batch);
      });
    }
    for (std::thread& t : threads) t.join();
    ASSERT_NE(results[0].ok(), results[1].ok())
        << results[0] << " / " << results[1];
    const int winner = results[0].ok() ? 0 : 1;
    EXPECT_TRUE(IsExpectationFailure(results[1 - winner]));
    EXPECT_EQ(conformance::GetOrAbsent(*a, Column::kSubscriptions, key),
              winner == 0 ? "a" : "b");
  }
}

TEST(PostgresStoreTest, ExpectedAbsentKeyLeftAbsentStaysAbsent) {
  std::unique_ptr<PostgresStore> store = OpenOrDie({.dsn = NewDatabase()});
  ASSERT_TRUE(store);
  WriteBatch batch;
  batch.Expect(Column::kSubscriptions, "ghost", std::nullopt);
  batch.Put(Column::kSubscriptions, "other", "x");
  ASSERT_EQ(store->Write(batch), absl::OkStatus());
  EXPECT_EQ(conformance::GetOrAbsent(*store, Column::kSubscriptions, "ghost"),
            "<absent>");
  absl::StatusOr<ChangeBatch> changes = store->ChangesAfter(0, 10);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->changes.size(), 1u);  // "other" only
  EXPECT_EQ(changes->changes[0].key, "other");
}

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

TEST(PostgresStoreTest, MigrationsAreIdempotentSerializedAndVersionChecked) {
  const std::string dsn = NewDatabase();
  // Concurrent Opens of a fresh database: all succeed, one schema.
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      absl::StatusOr<std::unique_ptr<PostgresStore>> store =
          PostgresStore::Open({.dsn = dsn, .partitions = 8});
      EXPECT_TRUE(store.ok()) << store.status();
      if (store.ok()) opened.fetch_add(1);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(opened.load(), 4);
  const std::string db = DatabaseOf(dsn);
  EXPECT_EQ(*SharedServer().Sql(db, "SELECT version FROM webhookd_schema"),
            "3");
  EXPECT_EQ(*SharedServer().Sql(db, "SELECT count(*) FROM webhookd_leases"),
            "8");
  // Again, asking for other partitions: the stored count stands.
  std::unique_ptr<PostgresStore> again =
      OpenOrDie({.dsn = dsn, .partitions = 64});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->partition_count(), 8);

  ASSERT_TRUE(
      SharedServer().Sql(db, "UPDATE webhookd_schema SET version = 99").ok());
  absl::StatusOr<std::unique_ptr<PostgresStore>> newer =
      PostgresStore::Open({.dsn = dsn});
  EXPECT_EQ(newer.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(newer.status().message(), HasSubstr("99"));
  EXPECT_THAT(newer.status().message(), HasSubstr("version 3"));
}

// A database of schema version 1 (before API keys) is brought to version 3
// at Open: its api_keys and delivery_order tables are created and what was
// stored stays.
TEST(PostgresStoreTest, Version1DatabaseGainsTheApiKeysTable) {
  const std::string dsn = NewDatabase();
  const std::string db = DatabaseOf(dsn);
  {
    std::unique_ptr<PostgresStore> store = OpenOrDie({.dsn = dsn});
    ASSERT_TRUE(store);
    WriteBatch batch;
    batch.Put(Column::kDialects, "kept", "v");
    ASSERT_TRUE(store->Write(batch).ok());
  }
  ASSERT_TRUE(SharedServer().Sql(db, "DROP TABLE webhookd_kv_api_keys").ok());
  ASSERT_TRUE(
      SharedServer().Sql(db, "DROP TABLE webhookd_kv_delivery_order").ok());
  ASSERT_TRUE(
      SharedServer().Sql(db, "UPDATE webhookd_schema SET version = 1").ok());
  std::unique_ptr<PostgresStore> store = OpenOrDie({.dsn = dsn});
  ASSERT_TRUE(store);
  EXPECT_EQ(*SharedServer().Sql(db, "SELECT version FROM webhookd_schema"),
            "3");
  WriteBatch batch;
  batch.Put(Column::kApiKeys, "key_1", "record");
  batch.Put(Column::kDeliveryOrder, "order_1", "dlv_1");
  ASSERT_TRUE(store->Write(batch).ok());
  EXPECT_EQ(conformance::GetOrAbsent(*store, Column::kApiKeys, "key_1"),
            "record");
  EXPECT_EQ(conformance::GetOrAbsent(*store, Column::kDeliveryOrder, "order_1"),
            "dlv_1");
  EXPECT_EQ(conformance::GetOrAbsent(*store, Column::kDialects, "kept"), "v");
}

TEST(PostgresStoreTest, BatchesTakeAConstantNumberOfRoundTrips) {
  std::unique_ptr<PostgresStore> store = OpenOrDie({.dsn = NewDatabase()});
  ASSERT_TRUE(store);
  WriteBatch batch;
  for (int i = 0; i < 500; ++i) {
    const std::string key = absl::StrCat("k", i);
    const Column column = i % 3 == 0   ? Column::kSubscriptions
                          : i % 3 == 1 ? Column::kDeliveries
                                       : Column::kDeliveryQueue;
    if (i % 10 == 9) {
      batch.Delete(column, key);
    } else {
      batch.Put(column, key, std::string(100, 'v'));
    }
  }
  const int64_t trips = store->round_trips();
  const int64_t commits = store->commits();
  ASSERT_EQ(store->Write(batch), absl::OkStatus());
  const int64_t batch_trips = store->round_trips() - trips;
  EXPECT_EQ(batch_trips, 1);
  EXPECT_EQ(store->commits() - commits, 1);

  const int64_t before_get = store->round_trips();
  EXPECT_EQ(conformance::GetOrAbsent(*store, Column::kDeliveries, "k1"),
            std::string(100, 'v'));
  EXPECT_EQ(store->round_trips() - before_get, 1);

  WriteBatch conditional;
  conditional.Expect(Column::kDeliveries, "k1", std::string(100, 'v'));
  conditional.Expect(Column::kDeliveries, "new", std::nullopt);
  for (int i = 0; i < 500; ++i) {
    conditional.Put(Column::kDeliveryQueue, absl::StrCat("q", i), "");
  }
  const int64_t before_conditional = store->round_trips();
  ASSERT_EQ(store->Write(conditional), absl::OkStatus());
  const int64_t conditional_trips =
      store->round_trips() - before_conditional;
  EXPECT_EQ(conditional_trips, 2);
  std::printf("round trips: 500-op batch %lld, Get 1, 500-op conditional "
              "batch %lld\n",
              static_cast<long long>(batch_trips),
              static_cast<long long>(conditional_trips));
}

TEST(PostgresStoreTest, ConcurrentWritersShareCommits) {
  std::unique_ptr<PostgresStore> store = OpenOrDie({.dsn = NewDatabase()});
  ASSERT_TRUE(store);
  constexpr int kThreads = 32;
  constexpr int kWrites = 5;
  const int64_t commits = store->commits();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        WriteBatch batch;
        const std::string key = absl::StrCat("t", t, "-", i);
        batch.Put(Column::kSubscriptions, key, key);
        batch.Put(Column::kAttempts, key, key);
        EXPECT_EQ(store->Write(batch), absl::OkStatus());
        EXPECT_EQ(conformance::GetOrAbsent(*store, Column::kAttempts, key),
                  key);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(conformance::ScanAll(*store, Column::kSubscriptions).size(),
            static_cast<size_t>(kThreads * kWrites));
  const int64_t used = store->commits() - commits;
  EXPECT_LE(used, kThreads * kWrites);
  absl::StatusOr<ChangeBatch> changes =
      store->ChangesAfter(0, kThreads * kWrites + 10);
  ASSERT_TRUE(changes.ok());
  EXPECT_EQ(changes->changes.size(), static_cast<size_t>(kThreads * kWrites));
  std::printf("%d writes by %d threads in %lld commits\n", kThreads * kWrites,
              kThreads, static_cast<long long>(used));
}

// Polls `f` (returning a Status) until OK or `limit` passes.
template <typename F>
absl::Status Eventually(F f, absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  absl::Status status = f();
  while (!status.ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
    status = f();
  }
  return status;
}

TEST(PostgresStoreTest, OutageIsUnavailableAndTheStoreRecovers) {
  absl::StatusOr<std::unique_ptr<PostgresServer>> server =
      PostgresServer::StartNew();
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<std::string> dsn = (*server)->CreateDatabase("outage");
  ASSERT_TRUE(dsn.ok());
  std::unique_ptr<PostgresStore> store =
      OpenOrDie({.dsn = *dsn, .connect_timeout = absl::Seconds(2)});
  ASSERT_TRUE(store);
  for (int i = 0; i < 10; ++i) {
    WriteBatch batch;
    batch.Put(Column::kSubscriptions, absl::StrCat("k", i), "v");
    ASSERT_EQ(store->Write(batch), absl::OkStatus());
  }

  ASSERT_EQ((*server)->Kill9(), absl::OkStatus());
  const absl::Time start = absl::Now();
  EXPECT_EQ(store->Get(Column::kSubscriptions, "k0").status().code(),
            absl::StatusCode::kUnavailable);
  WriteBatch batch;
  batch.Put(Column::kSubscriptions, "during", "v");
  absl::Status write = store->Write(batch);
  EXPECT_EQ(write.code(), absl::StatusCode::kUnavailable) << write;
  absl::Status check = store->Check();
  EXPECT_EQ(check.code(), absl::StatusCode::kUnavailable) << check;
  EXPECT_EQ(store->Scan(Column::kSubscriptions, "", "",
                        [](std::string_view, std::string_view) { return true; })
                .code(),
            absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));

  ASSERT_EQ((*server)->Start(), absl::OkStatus());
  EXPECT_EQ(Eventually([&] { return store->Check(); }, absl::Seconds(10)),
            absl::OkStatus());
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(conformance::GetOrAbsent(*store, Column::kSubscriptions,
                                       absl::StrCat("k", i)),
              "v");
  }
  batch.Put(Column::kSubscriptions, "after", "v");
  EXPECT_EQ(store->Write(batch), absl::OkStatus());
}

TEST(PostgresStoreTest, FailoverToAPromotedSynchronousStandbyLosesNothing) {
  absl::StatusOr<std::unique_ptr<PostgresServer>> primary =
      PostgresServer::StartNew();
  ASSERT_TRUE(primary.ok()) << primary.status();
  ASSERT_TRUE((*primary)->CreateDatabase("failover").ok());
  absl::StatusOr<std::unique_ptr<PostgresServer>> standby =
      (*primary)->StartStandby(/*synchronous=*/true);
  ASSERT_TRUE(standby.ok()) << standby.status();
  const std::string dsn = PostgresServer::MultiHostDsn(
      {primary->get(), standby->get()}, "failover");
  std::unique_ptr<PostgresStore> store =
      OpenOrDie({.dsn = dsn, .connect_timeout = absl::Seconds(2)});
  ASSERT_TRUE(store);
  constexpr int kBatches = 20;
  for (int i = 0; i < kBatches; ++i) {
    WriteBatch batch;
    batch.Put(Column::kSubscriptions, absl::StrCat("k", i), "v");
    batch.Put(Column::kDeliveries, absl::StrCat("d", i), "v");
    ASSERT_EQ(store->Write(batch), absl::OkStatus());
  }

  ASSERT_EQ((*primary)->Kill9(), absl::OkStatus());
  WriteBatch during;
  during.Put(Column::kMeta, "during", "v");
  EXPECT_EQ(store->Write(during).code(), absl::StatusCode::kUnavailable);
  ASSERT_EQ((*standby)->Promote(), absl::OkStatus());

  WriteBatch after;
  after.Put(Column::kMeta, "after", "v");
  EXPECT_EQ(Eventually([&] { return store->Write(after); }, absl::Seconds(20)),
            absl::OkStatus());
  for (int i = 0; i < kBatches; ++i) {
    EXPECT_EQ(conformance::GetOrAbsent(*store, Column::kSubscriptions,
                                       absl::StrCat("k", i)),
              "v");
    EXPECT_EQ(conformance::GetOrAbsent(*store, Column::kDeliveries,
                                       absl::StrCat("d", i)),
              "v");
  }
  absl::StatusOr<ChangeBatch> changes = store->ChangesAfter(0, 100);
  ASSERT_TRUE(changes.ok()) << changes.status();
  EXPECT_EQ(changes->changes.size(), static_cast<size_t>(kBatches));
}

}  // namespace
}  // namespace webhooks::storage
