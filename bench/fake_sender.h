// An HttpSender for ingest_bench, so the benchmark measures ingest, not a
// network:
//  - kHold: requests are kept (never answered) until Shutdown, which
//    completes them as kRejected. The dispatcher leases up to its cap and
//    then waits, so delivery work does not compete with ingest.
//  - kOk: every request is answered 200 at once: ingest while every
//    delivery is also attempted and written back.
// Callbacks run on the sender's own thread, as the HttpSender contract says.
//
//   auto sender = std::make_unique<FakeSender>(FakeSender::Mode::kHold);
#ifndef WEBHOOKS_BENCH_FAKE_SENDER_H_
#define WEBHOOKS_BENCH_FAKE_SENDER_H_

#include <atomic>
#include <deque>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "core/http_sender.h"

namespace webhooks::bench {

class FakeSender final : public core::HttpSender {
 public:
  enum class Mode { kHold, kOk };

  explicit FakeSender(Mode mode) : mode_(mode), thread_([this] { Loop(); }) {}
  ~FakeSender() override {
    Shutdown(absl::ZeroDuration());
    {
      absl::MutexLock lock(&mu_);
      exiting_ = true;
    }
    thread_.join();
  }

  void Send(core::HttpRequest request, core::HttpCallback done) override {
    absl::MutexLock lock(&mu_);
    in_flight_.fetch_add(1);
    queue_.push_back(std::move(done));
  }
  int InFlight() const override { return in_flight_.load(); }
  void Shutdown(absl::Duration) override {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
  }

  // Requests received so far.
  int64_t sent() const { return sent_.load(); }

 private:
  void Loop() {
    std::vector<core::HttpCallback> held;
    for (;;) {
      std::deque<core::HttpCallback> batch;
      bool stopped = false;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](FakeSender* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
              return !s->queue_.empty() || s->exiting_ ||
                     (s->stopped_ && !s->drained_);
            },
            this));
        batch.swap(queue_);
        stopped = stopped_;
        if (stopped) drained_ = true;
        if (exiting_ && batch.empty()) break;
      }
      for (core::HttpCallback& done : batch) {
        sent_.fetch_add(1);
        if (mode_ == Mode::kOk && !stopped) {
          Complete(done, Ok());
        } else {
          held.push_back(std::move(done));
        }
      }
      if (stopped) {
        for (core::HttpCallback& done : held) Complete(done, core::HttpResult());
        held.clear();
      }
    }
    for (core::HttpCallback& done : held) Complete(done, core::HttpResult());
  }

  static core::HttpResult Ok() {
    core::HttpResult result;
    result.outcome = core::HttpResult::Outcome::kResponse;
    result.status_code = 200;
    result.reason = "OK";
    result.elapsed = absl::Milliseconds(1);
    return result;
  }

  void Complete(core::HttpCallback& done, core::HttpResult result) {
    in_flight_.fetch_sub(1);
    done(std::move(result));
  }

  const Mode mode_;
  absl::Mutex mu_;
  std::deque<core::HttpCallback> queue_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool drained_ ABSL_GUARDED_BY(mu_) = false;
  bool exiting_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int> in_flight_{0};
  std::atomic<int64_t> sent_{0};
  std::thread thread_;  // last: starts after the fields it reads
};

}  // namespace webhooks::bench

#endif  // WEBHOOKS_BENCH_FAKE_SENDER_H_
