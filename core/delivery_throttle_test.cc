// DeliveryThrottle's token bucket and in-flight count, DeliveryWaitroom's
// order, ValidateDeliveryControl's bounds, and RetryPolicy under a
// subscription's own schedule.
#include "core/delivery_throttle.h"

#include "common/random.h"
#include "core/delivery_control.h"
#include "core/delivery_order.h"
#include "core/delivery_order_gate.h"
#include "core/delivery_waitroom.h"
#include "core/retry_policy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhooks::core {
namespace {

using ::testing::HasSubstr;

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

DeliveryControlRecord Rate(double per_second, int burst) {
  DeliveryControlRecord c;
  c.set_rate_limited(true);
  c.set_rate_per_second(per_second);
  c.set_burst(burst);
  return c;
}

TEST(DeliveryThrottleTest, BurstThenRate) {
  DeliveryThrottle throttle;
  const DeliveryControlRecord c = Rate(4, 3);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(throttle.TryTake("s", c, kStart));
  EXPECT_FALSE(throttle.TryTake("s", c, kStart));
  EXPECT_EQ(throttle.NextChance("s", c, kStart), kStart + absl::Milliseconds(250));
  EXPECT_FALSE(throttle.TryTake("s", c, kStart + absl::Milliseconds(249)));
  EXPECT_TRUE(throttle.TryTake("s", c, kStart + absl::Milliseconds(250)));
  // Refills up to the burst, not beyond.
  const absl::Time later = kStart + absl::Hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(throttle.TryTake("s", c, later));
  EXPECT_FALSE(throttle.TryTake("s", c, later));
  // Other subscriptions have buckets of their own.
  EXPECT_TRUE(throttle.TryTake("t", c, later));
  // A token given back can be taken again.
  throttle.Return("s");
  EXPECT_TRUE(throttle.TryTake("s", c, later));
}

TEST(DeliveryThrottleTest, DefaultBurstIsTheRateRoundedUp) {
  EXPECT_EQ(EffectiveBurst(Rate(2.5, 0)), 3);
  EXPECT_EQ(EffectiveBurst(Rate(0.2, 0)), 1);
  EXPECT_EQ(EffectiveBurst(Rate(0.2, 7)), 7);
}

TEST(DeliveryThrottleTest, InFlightCap) {
  DeliveryThrottle throttle;
  DeliveryControlRecord c;
  c.set_max_in_flight(2);
  EXPECT_TRUE(throttle.TryTake("s", c, kStart));
  EXPECT_TRUE(throttle.TryTake("s", c, kStart));
  EXPECT_FALSE(throttle.TryTake("s", c, kStart));
  EXPECT_EQ(throttle.NextChance("s", c, kStart), absl::InfiniteFuture());
  throttle.Done("s");
  EXPECT_TRUE(throttle.TryTake("s", c, kStart));
  // Nothing limited: always.
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(throttle.TryTake("u", DeliveryControlRecord(), kStart));
  }
}

DeliveryRecord Delivery(std::string id, std::string sub, int64_t due) {
  DeliveryRecord d;
  d.set_id(std::move(id));
  d.set_subscription_id(std::move(sub));
  d.set_next_attempt_micros(due);
  return d;
}

TEST(DeliveryWaitroomTest, KeepsDueOrderPerSubscriptionAndItsCapacity) {
  DeliveryWaitroom room(3);
  EXPECT_TRUE(room.Add(Delivery("d2", "s", 20)));
  EXPECT_TRUE(room.Add(Delivery("d1", "s", 10)));
  EXPECT_FALSE(room.Add(Delivery("d1", "s", 10)));
  EXPECT_TRUE(room.Add(Delivery("e1", "t", 5)));
  EXPECT_FALSE(room.Add(Delivery("d3", "s", 30)));  // full
  EXPECT_TRUE(room.Contains("d1"));
  EXPECT_EQ(room.Front("s")->id(), "d1");
  EXPECT_EQ(room.Remove("d1"), 10);
  EXPECT_EQ(room.Remove("d1"), std::nullopt);
  EXPECT_EQ(room.PopFront("s").id(), "d2");
  EXPECT_EQ(room.Front("s"), nullptr);
  EXPECT_EQ(room.Subscriptions(), std::vector<std::string>{"t"});
  EXPECT_EQ(room.size(), 1u);
}

// Ordered delivery's followers: lowest number first per lane, one turn per
// lane, a capacity, and the earliest due time of those not kept.
TEST(DeliveryOrderGateTest, FollowersByNumberTurnsAndOverflow) {
  const auto ordered = [](std::string id, std::string key, uint64_t seq,
                          int64_t due) {
    DeliveryRecord d = Delivery(std::move(id), "s", due);
    d.set_order_key(std::move(key));
    d.set_order_seq(seq);
    return d;
  };
  DeliveryOrderGate gate(3);
  const std::string a = OrderLaneOf(ordered("", "a", 0, 0));
  const std::string b = OrderLaneOf(ordered("", "b", 0, 0));
  EXPECT_FALSE(gate.Sending(a));
  gate.StartSending(a, "a1");
  EXPECT_TRUE(gate.Sending(a));
  EXPECT_FALSE(gate.Sending(b));  // keys are lanes of their own
  EXPECT_TRUE(gate.Wait(ordered("a3", "a", 3, 30)));
  EXPECT_TRUE(gate.Wait(ordered("a2", "a", 2, 40)));
  EXPECT_FALSE(gate.Wait(ordered("a2", "a", 2, 40)));  // waits already
  EXPECT_TRUE(gate.Wait(ordered("b2", "b", 2, 50)));
  EXPECT_EQ(gate.TakeOverflow(), DeliveryQueue::kNothingQueued);
  EXPECT_FALSE(gate.Wait(ordered("a5", "a", 5, 70)));  // full
  EXPECT_FALSE(gate.Wait(ordered("a4", "a", 4, 60)));
  EXPECT_EQ(gate.TakeOverflow(), 60);
  EXPECT_EQ(gate.TakeOverflow(), DeliveryQueue::kNothingQueued);
  EXPECT_TRUE(gate.Contains("a3"));
  EXPECT_FALSE(gate.EndSending(a, "a2"));  // not its turn
  EXPECT_TRUE(gate.EndSending(a, "a1"));
  EXPECT_EQ(gate.Front(a)->id(), "a2");  // by number, not due time
  EXPECT_EQ(gate.PopFront(a).id(), "a2");
  EXPECT_EQ(gate.PopFront(a).id(), "a3");
  EXPECT_EQ(gate.Front(a), nullptr);
  gate.MarkReleased(b);
  gate.MarkReleased(b);
  EXPECT_EQ(gate.TakeReleased(), std::vector<std::string>{b});
  EXPECT_TRUE(gate.TakeReleased().empty());
  EXPECT_EQ(gate.size(), 1u);
}

TEST(DeliveryControlTest, BoundsNameTheField) {
  Limits limits;
  EXPECT_TRUE(ValidateDeliveryControl("d", DeliveryControlRecord(), limits).ok());
  EXPECT_THAT(ValidateDeliveryControl("d", Rate(0, 0), limits).message(),
              HasSubstr("d.rate_limit.per_second:"));
  DeliveryControlRecord c;
  c.set_timeout_micros(int64_t{limits.max_delivery_timeout_ms} * 1000 + 1);
  EXPECT_THAT(ValidateDeliveryControl("d", c, limits).message(),
              HasSubstr("d.timeout:"));
  limits.max_delivery_timeout_ms = 200000;
  EXPECT_TRUE(ValidateDeliveryControl("d", c, limits).ok());
  c.add_retry_schedule_micros(-1);
  EXPECT_THAT(ValidateDeliveryControl("d", c, limits).message(),
              HasSubstr("d.retry_schedule[0]:"));
}

TEST(DeliveryControlTest, OrderingKeyPathIsChecked) {
  Limits limits;
  DeliveryControlRecord c;
  c.set_ordered(true);
  EXPECT_TRUE(ValidateDeliveryControl("d", c, limits).ok());
  c.set_order_key_path("order.customer_id");
  EXPECT_TRUE(ValidateDeliveryControl("d", c, limits).ok());
  for (const char* bad : {"a..b", ".a", "a."}) {
    c.set_order_key_path(bad);
    EXPECT_THAT(ValidateDeliveryControl("d", c, limits).message(),
                HasSubstr("d.ordering.key_path: a path has no empty segments"))
        << bad;
  }
  c.set_order_key_path(std::string(kMaxOrderKeyPathBytes + 1, 'a'));
  EXPECT_THAT(ValidateDeliveryControl("d", c, limits).message(),
              HasSubstr("d.ordering.key_path: at most"));
  c.set_order_key_path("a");
  c.set_ordered(false);
  EXPECT_THAT(ValidateDeliveryControl("d", c, limits).message(),
              HasSubstr("d.ordering.key_path: needs ordering.enabled"));
}

TEST(RetryPolicyTest, SubscriptionScheduleReplacesTheServers) {
  SeededRandom random(1);
  RetryOptions options;
  options.jitter = 0;
  RetryPolicy policy(options, &random);
  const std::vector<absl::Duration> own = {absl::Seconds(1), absl::Seconds(7)};
  EXPECT_EQ(policy.DelayAfterFailure(1, std::nullopt, own), absl::Seconds(1));
  EXPECT_EQ(policy.DelayAfterFailure(2, std::nullopt, own), absl::Seconds(7));
  EXPECT_EQ(policy.DelayAfterFailure(3, std::nullopt, own), std::nullopt);
  EXPECT_EQ(policy.DelayAfterFailure(2, absl::Seconds(30), own),
            absl::Seconds(30));
  EXPECT_EQ(policy.DelayAfterFailure(1, std::nullopt, {}), absl::Seconds(5));
}

}  // namespace
}  // namespace webhooks::core
