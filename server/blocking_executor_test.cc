#include "server/blocking_executor.h"

#include <pthread.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace webhooks::server {
namespace {

TEST(BlockingExecutorTest, RunsTasksOnAsManyThreadsAtOnce) {
  BlockingExecutor executor(4);
  absl::Mutex mu;
  int arrived = 0;
  std::atomic<int> passed{0};
  // Each task waits for all four: they finish only if four run at once.
  for (int i = 0; i < 4; ++i) {
    executor.Schedule([&] {
      absl::MutexLock lock(&mu);
      ++arrived;
      auto all = [&arrived]() { return arrived == 4; };
      if (mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(60))) {
        ++passed;
      }
    });
  }
  EXPECT_TRUE(executor.WaitIdle(absl::Now() + absl::Seconds(60)));
  EXPECT_EQ(passed.load(), 4);
}

TEST(BlockingExecutorTest, ThreadsAreNamed) {
  BlockingExecutor executor(1);
  std::string name;
  executor.Schedule([&name] {
    char buffer[16] = {};
    if (pthread_getname_np(pthread_self(), buffer, sizeof(buffer)) == 0) {
      name = buffer;
    }
  });
  ASSERT_TRUE(executor.WaitIdle(absl::Now() + absl::Seconds(60)));
  EXPECT_EQ(name, "rpc-blocking");
}

TEST(BlockingExecutorTest, WaitIdleWakesWhenTheLastTaskEnds) {
  BlockingExecutor executor(3);
  absl::Notification release;
  std::atomic<int> done{0};
  for (int i = 0; i < 5; ++i) {
    executor.Schedule([&] {
      release.WaitForNotification();
      ++done;
    });
  }
  // Still running: the deadline passes first.
  EXPECT_FALSE(executor.WaitIdle(absl::Now() + absl::Milliseconds(20)));
  release.Notify();
  // Woken by the end of the last task, well before this deadline.
  EXPECT_TRUE(executor.WaitIdle(absl::Now() + absl::Seconds(60)));
  EXPECT_EQ(done.load(), 5);
}

TEST(BlockingExecutorTest, IdleWithNothingScheduled) {
  BlockingExecutor executor(2);
  EXPECT_TRUE(executor.WaitIdle(absl::Now()));
}

TEST(BlockingExecutorTest, DestructorRunsEveryScheduledTask) {
  std::atomic<int> ran{0};
  {
    auto executor = std::make_unique<BlockingExecutor>(1);
    absl::Notification started;
    absl::Notification release;
    executor->Schedule([&] {
      started.Notify();
      release.WaitForNotification();
      ++ran;
    });
    started.WaitForNotification();
    // Queued behind the running task when destruction begins.
    for (int i = 0; i < 10; ++i) executor->Schedule([&] { ++ran; });
    release.Notify();
    executor.reset();
  }
  EXPECT_EQ(ran.load(), 11);
}

}  // namespace
}  // namespace webhooks::server
