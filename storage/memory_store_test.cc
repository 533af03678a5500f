#include "storage/memory_store.h"

#include <memory>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/store_conformance_test.h"

namespace webhooks::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

struct MemoryEnv {
  absl::StatusOr<StorePtr> NewStore() {
    return std::make_unique<MemoryStore>();
  }
};

}  // namespace

namespace conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(Memory, StoreConformanceTest, MemoryEnv);
}  // namespace conformance

namespace {

TEST(MemoryStoreTest, FailWritesFailsWholeBatchUntilCleared) {
  MemoryStore store;
  WriteBatch first;
  first.Put(Column::kMeta, "x", "1");
  ASSERT_EQ(store.Write(first), absl::OkStatus());
  ASSERT_EQ(store.write_count(), 1);

  store.FailWrites(absl::UnavailableError("disk on fire"));
  WriteBatch batch;
  batch.Put(Column::kMeta, "x", "2");
  batch.Put(Column::kMeta, "y", "1");
  batch.Delete(Column::kMeta, "x");
  EXPECT_EQ(store.Write(batch), absl::UnavailableError("disk on fire"));
  EXPECT_EQ(store.Write(batch, WriteOptions{.sync = false}),
            absl::UnavailableError("disk on fire"));
  EXPECT_EQ(store.write_count(), 1);
  EXPECT_THAT(conformance::ScanAll(store, Column::kMeta),
              ElementsAre(Pair("x", "1")));

  store.FailWrites(absl::OkStatus());
  ASSERT_EQ(store.Write(batch), absl::OkStatus());
  EXPECT_EQ(store.write_count(), 2);
  EXPECT_THAT(conformance::ScanAll(store, Column::kMeta),
              ElementsAre(Pair("y", "1")));
}

TEST(MemoryStoreTest, WriteCountCountsOnlyAppliedWrites) {
  MemoryStore store;
  EXPECT_EQ(store.write_count(), 0);
  ASSERT_EQ(store.Write(WriteBatch()), absl::OkStatus());
  WriteBatch bad;
  bad.Put(static_cast<Column>(-1), "k", "v");
  EXPECT_EQ(store.Write(bad).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.write_count(), 1);
}

TEST(MemoryStoreTest, FailWritesDoesNotAffectReads) {
  MemoryStore store;
  WriteBatch batch;
  batch.Put(Column::kPrincipals, "p", "v");
  ASSERT_EQ(store.Write(batch), absl::OkStatus());
  store.FailWrites(absl::InternalError("no"));
  EXPECT_EQ(conformance::GetOrAbsent(store, Column::kPrincipals, "p"), "v");
  EXPECT_THAT(conformance::ScanAll(store, Column::kDialects), IsEmpty());
}

}  // namespace
}  // namespace webhooks::storage
