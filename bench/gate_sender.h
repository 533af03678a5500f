// An HttpSender in front of the real one for delivery_bench: while the gate
// is closed, requests are held (the dispatcher leases up to its cap and
// then waits, so a backlog builds up on disk); Open() forwards what was
// held and everything after.
//
//   auto gate = std::make_unique<GateSender>(std::move(curl_sender));
//   gate->Close();  ... commit a backlog ...  gate->Open();
#ifndef WEBHOOKS_BENCH_GATE_SENDER_H_
#define WEBHOOKS_BENCH_GATE_SENDER_H_

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

 private:
  using Held = std::pair<core::HttpRequest, core::HttpCallback>;
  core::HttpSenderPtr inner_;
  mutable absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  std::vector<Held> held_ ABSL_GUARDED_BY(mu_);
};

}  // namespace webhooks::bench

#endif  // WEBHOOKS_BENCH_GATE_SENDER_H_
