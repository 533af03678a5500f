// Behaviour every Store implementation must have, as a GoogleTest typed test
// suite. A test file instantiates it with an environment type whose
// NewStore() returns a fresh, empty store (called once per test, and the
// environment outlives the store):
//
//   struct MemoryEnv {
//     absl::StatusOr<StorePtr> NewStore() {
//       return std::make_unique<MemoryStore>();
//     }
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(Memory, StoreConformanceTest, MemoryEnv);
//
// Include it from exactly one file of a test binary.
#ifndef WEBHOOKS_STORAGE_STORE_CONFORMANCE_TEST_H_
#define WEBHOOKS_STORAGE_STORE_CONFORMANCE_TEST_H_

#include <atomic>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/key_codec.h"
#include "storage/sequencer.h"
#include "storage/store.h"

namespace webhooks::storage::conformance {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// Every key and value of `column` in [start, end), in scan order.
inline KeyValues ScanAll(const Store& store, Column column,
                         std::string_view start = "",
                         std::string_view end = "") {
  KeyValues out;
  absl::Status status = store.Scan(column, start, end,
                                   [&](std::string_view k, std::string_view v) {
                                     out.emplace_back(k, v);
                                     return true;
                                   });
  EXPECT_TRUE(status.ok()) << status;
  return out;
}

inline std::vector<std::string> PrefixKeys(const Store& store, Column column,
                                           std::string_view prefix) {
  std::vector<std::string> out;
  absl::Status status = store.ScanPrefix(
      column, prefix, [&](std::string_view k, std::string_view) {
        out.emplace_back(k);
        return true;
      });
  EXPECT_TRUE(status.ok()) << status;
  return out;
}

// The value at `key`, "<absent>" when there is none, "<error ...>" on error.
inline std::string GetOrAbsent(const Store& store, Column column,
                               std::string_view key) {
  absl::StatusOr<std::optional<std::string>> value = store.Get(column, key);
  if (!value.ok())
    return absl::StrCat("<error ", value.status().ToString(), ">");
  return value->has_value() ? **value : "<absent>";
}

template <typename Env>
class StoreConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<StorePtr> store = env_.NewStore();
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  void Put(Column column, std::string_view key, std::string_view value) {
    WriteBatch batch;
    batch.Put(column, key, value);
    ASSERT_EQ(store_->Write(batch), absl::OkStatus());
  }

  void PutKeys(Column column, const std::vector<std::string>& keys) {
    WriteBatch batch;
    for (const std::string& key : keys) batch.Put(column, key, "v" + key);
    ASSERT_EQ(store_->Write(batch), absl::OkStatus());
  }

  std::string Get(Column column, std::string_view key) {
    return GetOrAbsent(*store_, column, key);
  }

  Env env_;  // Declared first: outlives store_.
  StorePtr store_;
};

TYPED_TEST_SUITE_P(StoreConformanceTest);

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

TYPED_TEST_P(StoreConformanceTest, GetOfMissingKeyIsNullopt) {
  absl::StatusOr<std::optional<std::string>> value =
      this->store_->Get(Column::kSubscriptions, "missing");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, std::nullopt);
}

TYPED_TEST_P(StoreConformanceTest, PutGetOverwriteAndEmptyValue) {
  this->Put(Column::kPrincipals, "alice", "one");
  EXPECT_EQ(this->Get(Column::kPrincipals, "alice"), "one");
  this->Put(Column::kPrincipals, "alice", "two");
  EXPECT_EQ(this->Get(Column::kPrincipals, "alice"), "two");
  // An empty value is present, unlike a missing key.
  this->Put(Column::kPrincipals, "bob", "");
  absl::StatusOr<std::optional<std::string>> bob =
      this->store_->Get(Column::kPrincipals, "bob");
  ASSERT_TRUE(bob.ok()) << bob.status();
  EXPECT_EQ(*bob, std::optional<std::string>(""));
}

TYPED_TEST_P(StoreConformanceTest, DeleteRemovesKeyAndMissingDeleteIsOk) {
  this->Put(Column::kDialects, "d", "x");
  WriteBatch batch;
  batch.Delete(Column::kDialects, "d");
  batch.Delete(Column::kDialects, "never-written");
  ASSERT_EQ(this->store_->Write(batch), absl::OkStatus());
  EXPECT_EQ(this->Get(Column::kDialects, "d"), "<absent>");
  EXPECT_THAT(ScanAll(*this->store_, Column::kDialects), IsEmpty());
}

TYPED_TEST_P(StoreConformanceTest, BatchOperationsApplyInOrder) {
  WriteBatch batch;
  batch.Put(Column::kMeta, "put-then-delete", "1");
  batch.Delete(Column::kMeta, "put-then-delete");
  batch.Delete(Column::kMeta, "delete-then-put");
  batch.Put(Column::kMeta, "delete-then-put", "2");
  batch.Put(Column::kMeta, "twice", "first");
  batch.Put(Column::kMeta, "twice", "second");
  ASSERT_EQ(this->store_->Write(batch, WriteOptions{.sync = false}),
            absl::OkStatus());
  EXPECT_THAT(
      ScanAll(*this->store_, Column::kMeta),
      ElementsAre(Pair("delete-then-put", "2"), Pair("twice", "second")));
}

// Operations on one key apply in the order they were added even when a
// batch interleaves them with other keys and columns, in no key order (a
// store may reorder a batch internally: RocksDbStore sorts it by key).
TYPED_TEST_P(StoreConformanceTest, InterleavedBatchesApplyPerKeyInOrder) {
  const Column columns[] = {Column::kDeliveries, Column::kDeliveryQueue,
                            Column::kAttempts};
  std::map<std::pair<Column, std::string>, std::string> model;
  std::mt19937 random(14);
  for (int b = 0; b < 12; ++b) {
    WriteBatch batch;
    const int ops = 1 + static_cast<int>(random() % 60);
    for (int i = 0; i < ops; ++i) {
      const Column column = columns[random() % 3];
      // Few keys, so one batch often touches a key more than once; half
      // of them tuples (subscription, slot), as the attempt rings key theirs
      // (RocksDbStore keeps an insert hint per first component there).
      std::string key;
      if (random() % 2 == 0) {
        key = absl::StrCat("k", random() % 12);
      } else {
        KeyBuilder tuple;
        tuple.AddString(absl::StrCat("sub", random() % 3)).AddUint64(random() % 4);
        key = std::move(tuple).Build();
      }
      if (random() % 3 == 0) {
        batch.Delete(column, key);
        model.erase({column, key});
      } else {
        const std::string value = absl::StrCat(b, ".", i);
        batch.Put(column, key, value);
        model[{column, key}] = value;
      }
    }
    ASSERT_EQ(this->store_->Write(batch, WriteOptions{.sync = false}),
              absl::OkStatus());
    for (Column column : columns) {
      KeyValues expected;
      for (const auto& [where, value] : model) {
        if (where.first == column) expected.emplace_back(where.second, value);
      }
      ASSERT_EQ(ScanAll(*this->store_, column), expected)
          << "column " << ColumnName(column) << " after batch " << b;
    }
  }
}

TYPED_TEST_P(StoreConformanceTest, EmptyBatchIsOk) {
  EXPECT_EQ(this->store_->Write(WriteBatch()), absl::OkStatus());
  EXPECT_THAT(ScanAll(*this->store_, Column::kMeta), IsEmpty());
}

TYPED_TEST_P(StoreConformanceTest, BinaryKeysAndValuesRoundTrip) {
  const std::string key("k\0\xff\x01", 4);
  const std::string value("\0\0v\xff", 4);
  const std::string big(1 << 20, '\xab');
  this->Put(Column::kDeliveries, key, value);
  this->Put(Column::kDeliveries, std::string(1, '\0'), big);
  EXPECT_EQ(this->Get(Column::kDeliveries, key), value);
  EXPECT_EQ(this->Get(Column::kDeliveries, std::string(1, '\0')), big);
  EXPECT_EQ(this->Get(Column::kDeliveries, "k"), "<absent>");
}

TYPED_TEST_P(StoreConformanceTest, ColumnsAreIndependent) {
  for (Column column : AllColumns()) {
    this->Put(column, "same-key", ColumnName(column));
  }
  WriteBatch batch;
  batch.Delete(Column::kAttempts, "same-key");
  ASSERT_EQ(this->store_->Write(batch), absl::OkStatus());
  for (Column column : AllColumns()) {
    SCOPED_TRACE(ColumnName(column));
    if (column == Column::kAttempts) {
      EXPECT_THAT(ScanAll(*this->store_, column), IsEmpty());
    } else {
      EXPECT_THAT(ScanAll(*this->store_, column),
                  ElementsAre(Pair("same-key", ColumnName(column))));
    }
  }
}

TYPED_TEST_P(StoreConformanceTest, ScanIsHalfOpenInUnsignedByteOrder) {
  this->PutKeys(Column::kDeliveryQueue,
                {"b", "a", "\x80", "\x7f", "c", "bb", std::string(1, '\0')});
  auto keys = [&](std::string_view start, std::string_view end) {
    std::vector<std::string> out;
    for (auto& [k, v] :
         ScanAll(*this->store_, Column::kDeliveryQueue, start, end)) {
      EXPECT_EQ(v, "v" + k);
      out.push_back(k);
    }
    return out;
  };
  EXPECT_THAT(keys("", ""), ElementsAre(std::string(1, '\0'), "a", "b", "bb",
                                        "c", "\x7f", "\x80"));
  EXPECT_THAT(keys("b", "c"), ElementsAre("b", "bb"));
  EXPECT_THAT(keys("a", "bb"), ElementsAre("a", "b"));
  EXPECT_THAT(keys("bc", ""), ElementsAre("c", "\x7f", "\x80"));
  EXPECT_THAT(keys("b", "b"), IsEmpty());
  EXPECT_THAT(keys("c", "a"), IsEmpty());
  EXPECT_THAT(keys("\x81", ""), IsEmpty());
}

TYPED_TEST_P(StoreConformanceTest, ScanStopsWhenVisitorReturnsFalse) {
  this->PutKeys(Column::kTransactions, {"a", "b", "c", "d"});
  std::vector<std::string> seen;
  absl::Status status = this->store_->Scan(
      Column::kTransactions, "", "", [&](std::string_view k, std::string_view) {
        seen.emplace_back(k);
        return seen.size() < 2;
      });
  EXPECT_EQ(status, absl::OkStatus());
  EXPECT_THAT(seen, ElementsAre("a", "b"));
}

TYPED_TEST_P(StoreConformanceTest, ScanPrefixVisitsExactlyPrefixedKeys) {
  const std::string ff = "\xff";
  this->PutKeys(Column::kSubscriptionsBySite,
                {"a", "ab", "ab" + ff, "ab" + ff + ff, "abc", "ac", "b", ff,
                 ff + std::string(1, '\0'), ff + ff, "\xfe"});
  const Store& store = *this->store_;
  EXPECT_THAT(PrefixKeys(store, Column::kSubscriptionsBySite, "ab"),
              ElementsAre("ab", "abc", "ab" + ff, "ab" + ff + ff));
  EXPECT_THAT(PrefixKeys(store, Column::kSubscriptionsBySite, "ab" + ff),
              ElementsAre("ab" + ff, "ab" + ff + ff));
  EXPECT_THAT(PrefixKeys(store, Column::kSubscriptionsBySite, ff),
              ElementsAre(ff, ff + std::string(1, '\0'), ff + ff));
  EXPECT_THAT(PrefixKeys(store, Column::kSubscriptionsBySite, "zz"), IsEmpty());
  EXPECT_EQ(PrefixKeys(store, Column::kSubscriptionsBySite, "").size(), 11u);
}

TYPED_TEST_P(StoreConformanceTest, MultiGetAnswersEveryKeyInOrder) {
  this->PutKeys(Column::kTransactionEvents, {"a", "b", "c"});
  this->PutKeys(Column::kDeliveries, {"x"});
  const std::vector<std::string> keys = {"c", "x", "a", "c", "", "zz"};
  absl::StatusOr<std::vector<std::optional<std::string>>> values =
      this->store_->MultiGet(Column::kTransactionEvents, keys);
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_THAT(*values,
              ElementsAre(std::optional<std::string>("vc"), std::nullopt,
                          std::optional<std::string>("va"),
                          std::optional<std::string>("vc"), std::nullopt,
                          std::nullopt));
  values = this->store_->MultiGet(Column::kTransactionEvents, {});
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_TRUE(values->empty());
  EXPECT_EQ(this->store_
                ->MultiGet(static_cast<Column>(kColumnCount), keys)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TYPED_TEST_P(StoreConformanceTest, ScanRangesVisitsEachRangeUpToItsLimit) {
  this->PutKeys(Column::kDeliveryQueue,
                {"a1", "a2", "a3", "b1", "b2", "c1", "c2", "c3", "c4", "d"});
  const ScanRange ranges[] = {
      {"c", "d", 2},   // c1 c2: its limit
      {"a", "b", 10},  // a1 a2 a3: all there are
      {"b2", "", 3},   // b2 c1 c2: no upper bound
      {"x", "", 5},    // none
      {"b", "c", 0},   // a limit of 0 reads nothing
      {"d", "c", 4},   // end before start: nothing
  };
  std::vector<std::string> seen;
  ASSERT_EQ(this->store_->ScanRanges(
                Column::kDeliveryQueue, ranges,
                [&](size_t range, std::string_view k, std::string_view v) {
                  EXPECT_EQ(v, "v" + std::string(k));
                  seen.push_back(std::to_string(range) + ":" + std::string(k));
                  return true;
                }),
            absl::OkStatus());
  EXPECT_THAT(seen, ElementsAre("0:c1", "0:c2", "1:a1", "1:a2", "1:a3", "2:b2",
                                "2:c1", "2:c2"));
  // The visitor stops every range.
  seen.clear();
  ASSERT_EQ(this->store_->ScanRanges(
                Column::kDeliveryQueue, ranges,
                [&](size_t range, std::string_view k, std::string_view) {
                  seen.push_back(std::to_string(range) + ":" + std::string(k));
                  return seen.size() < 3;
                }),
            absl::OkStatus());
  EXPECT_THAT(seen, ElementsAre("0:c1", "0:c2", "1:a1"));
  // Every range bounded (a store may read them all in one query), with
  // overlapping ones.
  const ScanRange bounded[] = {
      {"c", "d", 2},     // c1 c2
      {"b", "c", 0},     // nothing
      {"a", "b", 10},    // a1 a2 a3
      {"d", "c", 4},     // nothing
      {"b2", "c3", 5},   // b2 c1 c2
      {"x", "y", 5},     // none
      {"a3", "c2", 2},   // a3 b1
  };
  seen.clear();
  ASSERT_EQ(this->store_->ScanRanges(
                Column::kDeliveryQueue, bounded,
                [&](size_t range, std::string_view k, std::string_view v) {
                  EXPECT_EQ(v, "v" + std::string(k));
                  seen.push_back(std::to_string(range) + ":" + std::string(k));
                  return true;
                }),
            absl::OkStatus());
  EXPECT_THAT(seen, ElementsAre("0:c1", "0:c2", "2:a1", "2:a2", "2:a3", "4:b2",
                                "4:c1", "4:c2", "6:a3", "6:b1"));
  seen.clear();
  ASSERT_EQ(this->store_->ScanRanges(
                Column::kDeliveryQueue, bounded,
                [&](size_t range, std::string_view k, std::string_view) {
                  seen.push_back(std::to_string(range) + ":" + std::string(k));
                  return seen.size() < 4;
                }),
            absl::OkStatus());
  EXPECT_THAT(seen, ElementsAre("0:c1", "0:c2", "2:a1", "2:a2"));
  EXPECT_EQ(*this->store_->Count(Column::kDeliveryQueue), 10);
  EXPECT_EQ(*this->store_->Count(Column::kMeta), 0);
  const Column bogus = static_cast<Column>(kColumnCount);
  EXPECT_EQ(this->store_
                ->ScanRanges(bogus, ranges,
                             [](size_t, std::string_view, std::string_view) {
                               return true;
                             })
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TYPED_TEST_P(StoreConformanceTest, InvalidColumnIsRejectedAndBatchNotApplied) {
  const Column bogus = static_cast<Column>(kColumnCount);
  WriteBatch batch;
  batch.Put(Column::kMeta, "applied?", "no");
  batch.Put(bogus, "k", "v");
  EXPECT_EQ(this->store_->Write(batch).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(this->Get(Column::kMeta, "applied?"), "<absent>");
  EXPECT_EQ(this->store_->Get(bogus, "k").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(this->store_
                ->Scan(bogus, "", "",
                       [](std::string_view, std::string_view) { return true; })
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// Readers scanning while a writer replaces two keys in one batch always see
// both keys with the same value.
TYPED_TEST_P(StoreConformanceTest, ConcurrentScansSeeWholeBatches) {
  constexpr int kMinWrites = 300;
  constexpr int kMinScans = 100;
  this->Put(Column::kMeta, "a", "0");
  this->Put(Column::kMeta, "b", "0");
  std::atomic<bool> done{false};
  std::atomic<int> scans{0};
  std::atomic<bool> torn{false};
  auto reader = [&] {
    while (!done.load() && !torn.load()) {
      KeyValues kv = ScanAll(*this->store_, Column::kMeta);
      if (kv.size() != 2 || kv[0].second != kv[1].second) {
        torn = true;
        ADD_FAILURE() << "torn batch: " << ::testing::PrintToString(kv);
        return;
      }
      scans.fetch_add(1);
    }
  };
  std::thread reader1(reader), reader2(reader);
  // Keep writing until the readers have scanned while writes were going on.
  int writes = 0;
  while (!torn.load() && (writes < kMinWrites || scans.load() < kMinScans)) {
    ++writes;
    WriteBatch batch;
    batch.Put(Column::kMeta, "a", std::to_string(writes));
    batch.Put(Column::kMeta, "b", std::to_string(writes));
    absl::Status status =
        this->store_->Write(batch, WriteOptions{.sync = false});
    if (!status.ok()) {
      ADD_FAILURE() << status;
      break;
    }
  }
  done = true;
  reader1.join();
  reader2.join();
  EXPECT_EQ(this->Get(Column::kMeta, "a"), std::to_string(writes));
}

TYPED_TEST_P(StoreConformanceTest, ConcurrentSyncedWritersAllLand) {
  constexpr int kThreads = 4;
  constexpr int kWritesPerThread = 25;
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kWritesPerThread; ++i) {
        WriteBatch batch;
        std::string key = absl::StrCat("t", t, "-", i);
        batch.Put(Column::kTransactionEvents, key, key);
        EXPECT_EQ(this->store_->Write(batch, WriteOptions{.sync = true}),
                  absl::OkStatus());
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  KeyValues kv = ScanAll(*this->store_, Column::kTransactionEvents);
  ASSERT_EQ(kv.size(), static_cast<size_t>(kThreads * kWritesPerThread));
  for (const auto& [k, v] : kv) EXPECT_EQ(k, v);
}

TYPED_TEST_P(StoreConformanceTest, ExpectationsThatHoldApplyTheBatch) {
  this->Put(Column::kPrincipals, "alice", "v1");
  WriteBatch batch;
  batch.Expect(Column::kPrincipals, "alice", "v1");
  batch.Expect(Column::kPrincipals, "bob", std::nullopt);
  batch.Put(Column::kPrincipals, "alice", "v2");
  batch.Put(Column::kPrincipals, "bob", "b1");
  ASSERT_EQ(this->store_->Write(batch), absl::OkStatus());
  EXPECT_EQ(this->Get(Column::kPrincipals, "alice"), "v2");
  EXPECT_EQ(this->Get(Column::kPrincipals, "bob"), "b1");
  // Only expectations: a check that writes nothing.
  WriteBatch check;
  check.Expect(Column::kPrincipals, "alice", "v2");
  check.Expect(Column::kPrincipals, "carol", std::nullopt);
  EXPECT_EQ(this->store_->Write(check), absl::OkStatus());
  EXPECT_EQ(this->Get(Column::kPrincipals, "carol"), "<absent>");
  // An empty value is present.
  this->Put(Column::kPrincipals, "empty", "");
  WriteBatch empty;
  empty.Expect(Column::kPrincipals, "empty", "");
  EXPECT_EQ(this->store_->Write(empty), absl::OkStatus());
}

TYPED_TEST_P(StoreConformanceTest, FailedExpectationWritesNothing) {
  this->Put(Column::kPrincipals, "alice", "v1");
  this->Put(Column::kPrincipals, "empty", "");
  auto attempt = [&](Column column, std::string_view key,
                     std::optional<std::string_view> value) {
    WriteBatch batch;
    batch.Expect(Column::kDialects, "never", std::nullopt);  // holds
    batch.Expect(column, key, value);
    batch.Put(Column::kPrincipals, "alice", "changed");
    batch.Put(Column::kMeta, "written", "yes");
    batch.Delete(Column::kPrincipals, "empty");
    absl::Status status = this->store_->Write(batch);
    EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
    EXPECT_TRUE(IsExpectationFailure(status));
  };
  attempt(Column::kPrincipals, "alice", "v0");           // other value
  attempt(Column::kPrincipals, "alice", std::nullopt);   // present
  attempt(Column::kPrincipals, "nobody", "v1");          // absent
  attempt(Column::kPrincipals, "empty", std::nullopt);   // empty is present
  attempt(Column::kPrincipals, "nobody", "");            // absent is not ""
  attempt(Column::kSubscriptions, "alice", "v1");        // other column
  EXPECT_EQ(this->Get(Column::kPrincipals, "alice"), "v1");
  EXPECT_EQ(this->Get(Column::kPrincipals, "empty"), "");
  EXPECT_EQ(this->Get(Column::kMeta, "written"), "<absent>");
  EXPECT_EQ(this->Get(Column::kPrincipals, "nobody"), "<absent>");
  EXPECT_EQ(this->Get(Column::kSubscriptions, "alice"), "<absent>");
  EXPECT_EQ(this->Get(Column::kDialects, "never"), "<absent>");
}

// Read, expect what was read, write: concurrent increments of one counter
// never lose an update.
TYPED_TEST_P(StoreConformanceTest, ConcurrentConditionalIncrementsLoseNothing) {
  constexpr int kThreads = 4;
  constexpr int kIncrements = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        for (;;) {
          absl::StatusOr<std::optional<std::string>> current =
              this->store_->Get(Column::kMeta, "counter");
          ASSERT_TRUE(current.ok()) << current.status();
          const int value =
              current->has_value() ? std::stoi(**current) : 0;
          WriteBatch batch;
          batch.Expect(Column::kMeta, "counter", *current);
          batch.Put(Column::kMeta, "counter", std::to_string(value + 1));
          absl::Status status = this->store_->Write(batch);
          if (status.ok()) break;
          ASSERT_TRUE(IsExpectationFailure(status)) << status;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(this->Get(Column::kMeta, "counter"),
            std::to_string(kThreads * kIncrements));
}

// The ordering index of ordered delivery: numbers taken by Sequencer::Write
// are never visible out of order (no number while a smaller one of the same
// counter is missing), even with two Sequencers (two processes) writing the
// same counters at once; every number is taken exactly once; one batch's
// numbers of two counters land together.
TYPED_TEST_P(StoreConformanceTest, SequencedWritesAreNeverVisibleOutOfOrder) {
  constexpr int kThreads = 4;
  constexpr int kWrites = 20;
  Sequencer sequencers[2] = {Sequencer(this->store_.get()),
                             Sequencer(this->store_.get())};
  const std::string counters[2] = {"a", "b"};
  std::atomic<bool> done{false};
  std::atomic<int> holes{0};
  std::atomic<int> taken[2] = {0, 0};
  // Whether each counter's numbers read so far are exactly 1..k.
  const auto contiguous = [&](const KeyValues& entries) {
    for (const std::string& counter : counters) {
      const std::string prefix = keys::DeliveryOrderPrefix(counter, "");
      uint64_t expected = 1;
      for (const auto& [key, value] : entries) {
        if (key.rfind(prefix, 0) != 0) continue;
        if (keys::ParseDeliveryOrderSeq(key) != expected++) return false;
      }
    }
    return true;
  };
  std::thread reader([&] {
    while (!done.load()) {
      if (!contiguous(ScanAll(*this->store_, Column::kDeliveryOrder))) {
        holes.fetch_add(1);
      }
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      Sequencer& sequencer = sequencers[t % 2];
      for (int i = 0; i < kWrites; ++i) {
        // 1 to 3 numbers of "a", and one of "b" every other write.
        std::vector<SequenceNeed> needs = {
            {counters[0], static_cast<uint64_t>(1 + (t + i) % 3)}};
        if (i % 2 == 0) needs.push_back({counters[1], 1});
        absl::Status status;
        do {
          WriteBatch batch;
          status = sequencer.Write(
              batch, needs,
              [&](std::span<const uint64_t> first, WriteBatch& b) {
                for (size_t n = 0; n < needs.size(); ++n) {
                  for (uint64_t k = 0; k < needs[n].count; ++k) {
                    b.Put(Column::kDeliveryOrder,
                          keys::DeliveryOrder(needs[n].counter, "",
                                              first[n] + k),
                          absl::StrCat("writer ", t));
                  }
                }
              });
        } while (IsExpectationFailure(status));
        ASSERT_TRUE(status.ok()) << status;
        for (size_t n = 0; n < needs.size(); ++n) {
          taken[n == 0 ? 0 : 1].fetch_add(static_cast<int>(needs[n].count));
        }
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  done.store(true);
  reader.join();
  EXPECT_EQ(holes.load(), 0);
  const KeyValues entries = ScanAll(*this->store_, Column::kDeliveryOrder);
  EXPECT_TRUE(contiguous(entries));
  EXPECT_EQ(entries.size(), static_cast<size_t>(taken[0] + taken[1]));
  for (int n = 0; n < 2; ++n) {
    absl::StatusOr<uint64_t> last = sequencers[n].Last(counters[n]);
    ASSERT_TRUE(last.ok()) << last.status();
    EXPECT_EQ(*last, static_cast<uint64_t>(taken[n].load()));
  }
}

REGISTER_TYPED_TEST_SUITE_P(
    StoreConformanceTest, GetOfMissingKeyIsNullopt,
    PutGetOverwriteAndEmptyValue, DeleteRemovesKeyAndMissingDeleteIsOk,
    BatchOperationsApplyInOrder, InterleavedBatchesApplyPerKeyInOrder,
    EmptyBatchIsOk, BinaryKeysAndValuesRoundTrip,
    ColumnsAreIndependent, ScanIsHalfOpenInUnsignedByteOrder,
    ScanStopsWhenVisitorReturnsFalse, ScanPrefixVisitsExactlyPrefixedKeys,
    ScanRangesVisitsEachRangeUpToItsLimit, MultiGetAnswersEveryKeyInOrder,
    InvalidColumnIsRejectedAndBatchNotApplied, ConcurrentScansSeeWholeBatches,
    ConcurrentSyncedWritersAllLand, ExpectationsThatHoldApplyTheBatch,
    FailedExpectationWritesNothing, ConcurrentConditionalIncrementsLoseNothing,
    SequencedWritesAreNeverVisibleOutOfOrder);

}  // namespace webhooks::storage::conformance

#endif  // WEBHOOKS_STORAGE_STORE_CONFORMANCE_TEST_H_
