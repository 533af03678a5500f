#include "storage/store.h"

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhooks::storage {
namespace {

using ::testing::ElementsAre;

TEST(ColumnTest, NamesAreTheStableOnDiskNames) {
  EXPECT_EQ(ColumnName(Column::kSubscriptions), "subscriptions");
  EXPECT_EQ(ColumnName(Column::kSubscriptionsBySite), "subscriptions_by_site");
  EXPECT_EQ(ColumnName(Column::kSubscriptionsByOwner),
            "subscriptions_by_owner");
  EXPECT_EQ(ColumnName(Column::kPrincipals), "principals");
  EXPECT_EQ(ColumnName(Column::kDialects), "dialects");
  EXPECT_EQ(ColumnName(Column::kTransactions), "transactions");
  EXPECT_EQ(ColumnName(Column::kTransactionEvents), "transaction_events");
  EXPECT_EQ(ColumnName(Column::kDeliveries), "deliveries");
  EXPECT_EQ(ColumnName(Column::kDeliveryQueue), "delivery_queue");
  EXPECT_EQ(ColumnName(Column::kAttempts), "attempts");
  EXPECT_EQ(ColumnName(Column::kMeta), "meta");
  EXPECT_EQ(ColumnName(Column::kTransactionDeadlines), "transaction_deadlines");
  EXPECT_EQ(ColumnName(Column::kApiKeys), "api_keys");
  EXPECT_EQ(ColumnName(Column::kDeliveryOrder), "delivery_order");
}

TEST(ColumnTest, AllColumnsInEnumOrderWithDistinctNames) {
  std::set<std::string_view> names;
  int i = 0;
  for (Column column : AllColumns()) {
    EXPECT_EQ(static_cast<int>(column), i++);
    names.insert(ColumnName(column));
  }
  EXPECT_EQ(AllColumns().front(), Column::kSubscriptions);
  EXPECT_EQ(AllColumns().back(), Column::kDeliveryOrder);
  EXPECT_EQ(names.size(), static_cast<size_t>(kColumnCount));
  EXPECT_EQ(names.count("default"), 0u);  // RocksDB's own column family
}

TEST(WriteBatchTest, RecordsOperationsInOrder) {
  WriteBatch batch;
  EXPECT_TRUE(batch.empty());
  batch.Put(Column::kMeta, "k", "value");
  batch.Delete(Column::kDeliveries, "gone");
  ASSERT_EQ(batch.ops().size(), 2u);
  EXPECT_EQ(batch.ops()[0].type, WriteBatch::OpType::kPut);
  EXPECT_EQ(batch.ops()[0].column, Column::kMeta);
  EXPECT_EQ(batch.ops()[0].key, "k");
  EXPECT_EQ(batch.ops()[0].value, "value");
  EXPECT_EQ(batch.ops()[1].type, WriteBatch::OpType::kDelete);
  EXPECT_EQ(batch.ops()[1].column, Column::kDeliveries);
  EXPECT_EQ(batch.ops()[1].key, "gone");
  EXPECT_EQ(batch.ops()[1].value, "");
  EXPECT_FALSE(batch.empty());
  EXPECT_EQ(batch.ByteSize(), 1u + 5u + 4u);
}

TEST(WriteBatchTest, AppendAddsOtherOperationsAfterOwn) {
  WriteBatch a;
  a.Put(Column::kMeta, "a", "1");
  WriteBatch b;
  b.Delete(Column::kMeta, "b");
  a.Append(b);
  a.Append(a);  // appending to itself doubles it
  std::vector<std::string> keys;
  for (const WriteBatch::Op& op : a.ops()) keys.emplace_back(op.key);
  EXPECT_THAT(keys, ElementsAre("a", "b", "a", "b"));
  EXPECT_EQ(a.ByteSize(), 2u * (1u + 1u + 1u));
  EXPECT_EQ(b.ops().size(), 1u);
}

TEST(PrefixSuccessorTest, Cases) {
  EXPECT_EQ(PrefixSuccessor(""), "");
  EXPECT_EQ(PrefixSuccessor("a"), "b");
  EXPECT_EQ(PrefixSuccessor("abc"), "abd");
  EXPECT_EQ(PrefixSuccessor(std::string("ab\0", 3)), "ab\x01");
  EXPECT_EQ(PrefixSuccessor("a\xff"), "b");
  EXPECT_EQ(PrefixSuccessor("a\xfe\xff\xff"), "a\xff");
  EXPECT_EQ(PrefixSuccessor("\x7f"), "\x80");
  EXPECT_EQ(PrefixSuccessor("\xff"), "");
  EXPECT_EQ(PrefixSuccessor("\xff\xff\xff"), "");
}

}  // namespace
}  // namespace webhooks::storage
