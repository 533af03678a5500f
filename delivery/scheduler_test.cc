#include "delivery/scheduler.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhooks::delivery {
namespace {

using ::testing::ElementsAre;

Pending To(const std::string& destination, const std::string& body) {
  Pending pending;
  pending.request.body = body;
  CheckedRequest checked;
  checked.destination = destination;
  pending.checked = std::make_shared<const CheckedRequest>(std::move(checked));
  return pending;
}

// Bodies of everything that may start now.
std::vector<std::string> StartAll(Scheduler& scheduler) {
  std::vector<std::string> started;
  while (std::optional<Pending> next = scheduler.Next()) {
    started.emplace_back(next->request.body.view());
  }
  return started;
}

TEST(SchedulerTest, PerDestinationCapInOrder) {
  Scheduler scheduler(10, 2);
  for (const char* body : {"a1", "a2", "a3", "a4"}) {
    scheduler.Push(To("a", body));
  }
  EXPECT_THAT(StartAll(scheduler), ElementsAre("a1", "a2"));
  EXPECT_EQ(scheduler.started("a"), 2);
  EXPECT_EQ(scheduler.queued(), 2u);
  scheduler.Finished("a");
  EXPECT_THAT(StartAll(scheduler), ElementsAre("a3"));
  scheduler.Finished("a");
  scheduler.Finished("a");
  EXPECT_THAT(StartAll(scheduler), ElementsAre("a4"));
  scheduler.Finished("a");
  EXPECT_EQ(scheduler.started(), 0);
  EXPECT_EQ(scheduler.started("a"), 0);
}

TEST(SchedulerTest, BusyDestinationDoesNotBlockOthers) {
  Scheduler scheduler(10, 1);
  scheduler.Push(To("a", "a1"));
  scheduler.Push(To("a", "a2"));
  scheduler.Push(To("b", "b1"));
  scheduler.Push(To("a", "a3"));
  scheduler.Push(To("c", "c1"));
  EXPECT_THAT(StartAll(scheduler), ElementsAre("a1", "b1", "c1"));
  scheduler.Finished("b");
  EXPECT_THAT(StartAll(scheduler), ElementsAre());
  scheduler.Finished("a");
  EXPECT_THAT(StartAll(scheduler), ElementsAre("a2"));
}

TEST(SchedulerTest, GlobalCapOldestFirst) {
  Scheduler scheduler(2, 5);
  scheduler.Push(To("a", "a1"));
  scheduler.Push(To("b", "b1"));
  scheduler.Push(To("b", "b2"));
  scheduler.Push(To("a", "a2"));
  EXPECT_THAT(StartAll(scheduler), ElementsAre("a1", "b1"));
  scheduler.Finished("a");
  EXPECT_THAT(StartAll(scheduler), ElementsAre("b2"));
  scheduler.Finished("b");
  EXPECT_THAT(StartAll(scheduler), ElementsAre("a2"));
}

TEST(SchedulerTest, TakeQueuedOldestFirst) {
  Scheduler scheduler(1, 1);
  scheduler.Push(To("a", "a1"));
  scheduler.Push(To("b", "b1"));
  scheduler.Push(To("a", "a2"));
  scheduler.Push(To("c", "c1"));
  EXPECT_THAT(StartAll(scheduler), ElementsAre("a1"));
  std::vector<std::string> taken;
  for (Pending& pending : scheduler.TakeQueued()) {
    taken.emplace_back(pending.request.body.view());
  }
  EXPECT_THAT(taken, ElementsAre("b1", "a2", "c1"));
  EXPECT_EQ(scheduler.queued(), 0u);
  EXPECT_EQ(scheduler.started(), 1);
  scheduler.Finished("a");
  EXPECT_THAT(StartAll(scheduler), ElementsAre());
  EXPECT_EQ(scheduler.started(), 0);
}

// A backlog far longer than the caps, pushed to while it drains: each
// destination's requests start in the order pushed, none is lost or
// started twice.
TEST(SchedulerTest, LongBacklogStartsInOrderAsItDrains) {
  Scheduler scheduler(3, 2);
  std::map<std::string, int> pushed, started;
  auto push = [&](const std::string& destination) {
    scheduler.Push(To(destination,
                      destination + "/" + std::to_string(pushed[destination]++)));
  };
  for (int i = 0; i < 1500; ++i) push(i % 3 == 0 ? "a" : "b");
  std::vector<std::string> running;
  for (int round = 0; round < 4000 && (scheduler.queued() > 0 || !running.empty());
       ++round) {
    while (std::optional<Pending> next = scheduler.Next()) {
      const std::string body(next->request.body.view());
      const std::string destination = body.substr(0, body.find('/'));
      EXPECT_EQ(body, destination + "/" + std::to_string(started[destination]++));
      running.push_back(destination);
    }
    ASSERT_FALSE(running.empty());
    scheduler.Finished(running.front());
    running.erase(running.begin());
    if (round < 600) push(round % 2 == 0 ? "a" : "c");
  }
  EXPECT_EQ(scheduler.queued(), 0u);
  EXPECT_EQ(scheduler.started(), 0);
  EXPECT_EQ(started, pushed);
}

TEST(SchedulerTest, FinishedForUnknownDestinationIsIgnored) {
  Scheduler scheduler(1, 1);
  scheduler.Finished("nowhere");
  scheduler.Push(To("a", "a1"));
  EXPECT_THAT(StartAll(scheduler), ElementsAre("a1"));
}

}  // namespace
}  // namespace webhooks::delivery
