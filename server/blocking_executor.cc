#include "server/blocking_executor.h"

#include <pthread.h>

namespace webhooks::server {

BlockingExecutor::BlockingExecutor(int threads) {
  threads_.reserve(threads);
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      // Named, so that per-thread CPU (top -H, /proc/<pid>/task) shows the
      // handlers' share.
      pthread_setname_np(pthread_self(), "rpc-blocking");
      Loop();
    });
  }
}

BlockingExecutor::~BlockingExecutor() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    cv_.SignalAll();
  }
  for (std::thread& t : threads_) t.join();
}

void BlockingExecutor::Schedule(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  tasks_.push_back(std::move(task));
  cv_.Signal();
}

bool BlockingExecutor::WaitIdle(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  while (!tasks_.empty() || running_ > 0) {
    if (idle_cv_.WaitWithDeadline(&mu_, deadline)) break;
  }
  return tasks_.empty() && running_ == 0;
}

void BlockingExecutor::Loop() {
  while (true) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      while (!stopping_ && tasks_.empty()) cv_.Wait(&mu_);
      if (tasks_.empty()) return;  // stopping, and everything has run
      task = std::move(tasks_.front());
      tasks_.pop_front();
      ++running_;
    }
    task();
    absl::MutexLock lock(&mu_);
    --running_;
    // Only WaitIdle cares; waking the idle workers here would wake every
    // one of them after every task, for nothing.
    if (running_ == 0 && tasks_.empty()) idle_cv_.SignalAll();
  }
}

}  // namespace webhooks::server
