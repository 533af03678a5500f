// An HttpSender in front of the real one for delivery_bench: while the gate
// is closed, requests are held (the dispatcher leases up to its cap and
// then waits, so a backlog builds up on disk); Open() forwards what was
// held and everything after. It also learns which thread runs the inner
// sender's callbacks (the libcurl loop), for per-thread CPU figures.
//
//   auto gate = std::make_unique<GateSender>(std::move(curl_sender));
//   gate->Close();  ... commit a backlog ...  gate->Open();
#ifndef WEBHOOKS_BENCH_GATE_SENDER_H_
#define WEBHOOKS_BENCH_GATE_SENDER_H_

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "core/http_sender.h"

namespace webhooks::bench {

class GateSender final : public core::HttpSender {
 public:
  explicit GateSender(core::HttpSenderPtr inner) : inner_(std::move(inner)) {}

  void Send(core::HttpRequest request, core::HttpCallback done) override {
    if (callback_tid_.load(std::memory_order_relaxed) == 0) {
      done = [this, done = std::move(done)](core::HttpResult result) {
        callback_tid_.store(static_cast<int>(syscall(SYS_gettid)));
        done(std::move(result));
      };
    }
    {
      absl::MutexLock lock(&mu_);
      if (!open_) {
        held_.emplace_back(std::move(request), std::move(done));
        return;
      }
    }
    inner_->Send(std::move(request), std::move(done));
  }

  int InFlight() const override {
    absl::MutexLock lock(&mu_);
    return inner_->InFlight() + static_cast<int>(held_.size());
  }

  void Shutdown(absl::Duration grace) override {
    std::vector<Held> held;
    {
      absl::MutexLock lock(&mu_);
      held.swap(held_);
      open_ = true;
    }
    inner_->Shutdown(grace);
    // The inner sender is stopped: these complete at once as rejected.
    for (Held& h : held) inner_->Send(std::move(h.first), std::move(h.second));
  }

  void Close() {
    absl::MutexLock lock(&mu_);
    open_ = false;
  }
  void Open() {
    std::vector<Held> held;
    {
      absl::MutexLock lock(&mu_);
      open_ = true;
      held.swap(held_);
    }
    for (Held& h : held) inner_->Send(std::move(h.first), std::move(h.second));
  }
  // Requests held right now.
  int held() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(held_.size());
  }
  // The inner sender's callback thread; 0 until a callback has run.
  int callback_tid() const { return callback_tid_.load(); }

 private:
  using Held = std::pair<core::HttpRequest, core::HttpCallback>;
  core::HttpSenderPtr inner_;
  mutable absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  std::vector<Held> held_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> callback_tid_{0};
};

}  // namespace webhooks::bench

#endif  // WEBHOOKS_BENCH_GATE_SENDER_H_
