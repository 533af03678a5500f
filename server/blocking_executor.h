// Threads we own for work that may block (storage syncs), so gRPC reactions
// never block: a handler schedules its work here and the work calls Finish.
//
//   BlockingExecutor executor(8);
//   executor.Schedule([reactor] { ...; reactor->Finish(status); });
//
// Thread-safe. The destructor runs every scheduled task, then joins.
#ifndef WEBHOOKS_SERVER_BLOCKING_EXECUTOR_H_
#define WEBHOOKS_SERVER_BLOCKING_EXECUTOR_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace webhooks::server {

class BlockingExecutor {
 public:
  explicit BlockingExecutor(int threads);
  ~BlockingExecutor();
  BlockingExecutor(const BlockingExecutor&) = delete;
  BlockingExecutor& operator=(const BlockingExecutor&) = delete;

  void Schedule(std::function<void()> task) ABSL_LOCKS_EXCLUDED(mu_);

  // Waits until no task is queued or running, or `deadline` passes.
  // Returns true when idle.
  bool WaitIdle(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);

  absl::Mutex mu_;
  absl::CondVar cv_;  // signalled when a task arrives or stopping_ is set
  absl::CondVar idle_cv_;  // signalled when the last running task ends
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::thread> threads_;  // constant after construction
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_BLOCKING_EXECUTOR_H_
