// WatchOutcomes bounds: OutcomeBuffer (messages and bytes) and WatchQuota
// (streams per principal and in all).
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/handlers/outcome_buffer.h"
#include "server/handlers/watch_quota.h"

namespace webhooks::server {
namespace {

v1::Outcome OutcomeOf(const std::string& subscription, size_t message_bytes) {
  v1::Outcome outcome;
  outcome.set_subscription_id(subscription);
  outcome.mutable_attempt()->set_message(std::string(message_bytes, 'm'));
  return outcome;
}

TEST(OutcomeBufferTest, BoundsMessages) {
  OutcomeBuffer buffer(3, 1 << 20);
  for (int i = 0; i < 5; ++i) buffer.Push(OutcomeOf(std::to_string(i), 1));
  EXPECT_EQ(buffer.size(), 3u);
  std::optional<v1::Outcome> first = buffer.Pop();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->subscription_id(), "2");
  EXPECT_EQ(first->dropped(), 2);
  EXPECT_EQ(buffer.Pop()->dropped(), 0);
}

// Issue 15: only messages were counted, so big outcomes held much memory.
TEST(OutcomeBufferTest, BoundsBytes) {
  OutcomeBuffer buffer(1000, 10000);
  for (int i = 0; i < 100; ++i) buffer.Push(OutcomeOf("s", 1000));
  EXPECT_LE(buffer.bytes(), 10000u);
  EXPECT_GE(buffer.size(), 8u);
  EXPECT_LE(buffer.size(), 10u);
  EXPECT_EQ(buffer.dropped(), static_cast<int64_t>(100 - buffer.size()));
  // One outcome bigger than the bound is kept alone.
  buffer.Push(OutcomeOf("big", 20000));
  EXPECT_EQ(buffer.size(), 1u);
  EXPECT_EQ(buffer.Pop()->subscription_id(), "big");
  EXPECT_EQ(buffer.bytes(), 0u);
  EXPECT_FALSE(buffer.Pop().has_value());
}

TEST(OutcomeBufferTest, DefaultBoundsHoldAtMostAQuarterMegabyte) {
  OutcomeBuffer buffer;
  for (int i = 0; i < 5000; ++i) buffer.Push(OutcomeOf("s", 500));
  EXPECT_LE(buffer.bytes(), OutcomeBuffer::kMaxBytes);
  buffer.Clear();
  EXPECT_EQ(buffer.size(), 0u);
  EXPECT_EQ(buffer.bytes(), 0u);
}

TEST(WatchQuotaTest, BoundsStreamsPerPrincipal) {
  WatchQuota quota(2, 100);
  std::vector<WatchQuota::Ticket> tickets;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<WatchQuota::Ticket> t = quota.Acquire("alice");
    ASSERT_TRUE(t.ok()) << t.status();
    tickets.push_back(*std::move(t));
  }
  absl::StatusOr<WatchQuota::Ticket> third = quota.Acquire("alice");
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(third.status().message().find("per caller"), std::string::npos);
  EXPECT_TRUE(quota.Acquire("bob").ok());  // released at once
  tickets.pop_back();
  EXPECT_TRUE(quota.Acquire("alice").ok());
  EXPECT_EQ(quota.open(), 1);
}

TEST(WatchQuotaTest, BoundsStreamsInAll) {
  WatchQuota quota(100, 3);
  std::vector<WatchQuota::Ticket> tickets;
  for (const char* who : {"a", "b", "c"}) {
    absl::StatusOr<WatchQuota::Ticket> t = quota.Acquire(who);
    ASSERT_TRUE(t.ok());
    tickets.push_back(*std::move(t));
  }
  absl::StatusOr<WatchQuota::Ticket> fourth = quota.Acquire("d");
  EXPECT_EQ(fourth.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(fourth.status().message().find("on this server"), std::string::npos);
  tickets.clear();
  EXPECT_EQ(quota.open(), 0);
}

TEST(WatchQuotaTest, TrimsTheHeapAfterABurst) {
  WatchQuota quota(100, 100);
  std::vector<WatchQuota::Ticket> tickets;
  for (int i = 0; i < 10; ++i) tickets.push_back(*quota.Acquire("a"));
  EXPECT_EQ(quota.trims(), 0);
  tickets.clear();
  EXPECT_EQ(quota.trims(), 1);
}

}  // namespace
}  // namespace webhooks::server
