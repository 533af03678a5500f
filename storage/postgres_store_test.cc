// PostgresStore against a real PostgreSQL started by the test
// (postgres_test_database.h): one server for the binary, a fresh database per
// test; the outage and failover tests start their own servers. The store's
// cluster parts (change feed, trimming, leases) are in
// postgres_cluster_test.cc.
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
#include "storage/postgres_test_database.h"
#include "storage/store_conformance_test.h"

namespace webhooks::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

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

// A queue key holds its partition in two bytes: more partitions than that,
// or none, are refused before anything is created.
TEST(PostgresStoreTest, PartitionCountOutOfRangeIsRefused) {
  const std::string dsn = NewDatabase();
  for (int partitions : {0, -1, kMaxPartitions + 1}) {
    absl::StatusOr<std::unique_ptr<PostgresStore>> store =
        PostgresStore::Open({.dsn = dsn, .partitions = partitions});
    EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument)
        << partitions;
    EXPECT_THAT(store.status().message(), HasSubstr("partitions"));
  }
  EXPECT_EQ(*SharedServer().Sql(DatabaseOf(dsn),
                                "SELECT count(*) FROM pg_tables WHERE "
                                "tablename LIKE 'webhookd%'"),
            "0");
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
