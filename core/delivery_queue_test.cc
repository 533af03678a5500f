#include "core/delivery_queue.h"

#include "gtest/gtest.h"
#include "storage/memory_store.h"

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

}  // namespace
}  // namespace webhooks::core
