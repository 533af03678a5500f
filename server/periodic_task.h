// Runs a function every `interval` on a thread of its own until destroyed.
//
//   PeriodicTask reaper(absl::Seconds(1), [&] { log->Reap(1000); });
#ifndef WEBHOOKS_SERVER_PERIODIC_TASK_H_
#define WEBHOOKS_SERVER_PERIODIC_TASK_H_

#include <functional>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace webhooks::server {

class PeriodicTask {
 public:
  PeriodicTask(absl::Duration interval, std::function<void()> task)
      : thread_([this, interval, task = std::move(task)] {
          while (!stop_.WaitForNotificationWithTimeout(interval)) task();
        }) {}
  // Waits for a running call of the task to return.
  ~PeriodicTask() {
    stop_.Notify();
    thread_.join();
  }
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

 private:
  absl::Notification stop_;
  std::thread thread_;  // declared last: starts after stop_ exists
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_PERIODIC_TASK_H_
