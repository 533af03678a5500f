#include "delivery/curl_sender.h"

#include <curl/curl.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "delivery/address_policy.h"
#include "delivery/curl_easy.h"
#include "delivery/destination_resolver.h"
#include "delivery/inbox.h"
#include "delivery/scheduler.h"
#include "delivery/sender_pool.h"
#include "delivery/transfer.h"

// One loop thread owns the multi handle, the easy handles, the scheduler and
// every Transfer; other threads only touch the Inbox and call
// curl_multi_wakeup, which libcurl allows from any thread.

namespace webhooks::delivery {
namespace {

using core::HttpResult;
using Outcome = core::HttpResult::Outcome;

constexpr char kShuttingDown[] = "shutting down";

class CurlSenderImpl final : public CurlSender {
 public:
  CurlSenderImpl(const CurlSenderOptions& options, AddressPolicy policy,
                 CURLM* multi, std::string thread_name)
      : options_(options),
        thread_name_(std::move(thread_name)),
        // Checked by Create (ValidateCurlSenderOptions).
        proxy_(options.proxy_url.empty()
                   ? ProxyEndpoint{}
                   : ParseProxyUrl("proxy_url", options.proxy_url)
                         .value_or(ProxyEndpoint{})),
        policy_(std::move(policy)),
        multi_(multi),
        scheduler_(options.max_in_flight, options.max_per_destination),
        resolver_(&policy_, [this](Pending pending, HttpResult result) {
          Resolved(std::move(pending), std::move(result));
        }) {}

  ~CurlSenderImpl() override {
    Shutdown(absl::ZeroDuration());
    curl_multi_cleanup(multi_);
    for (CURL* easy : pool_) curl_easy_cleanup(easy);
  }

  void StartLoop() {
    absl::MutexLock lock(&join_mu_);
    thread_ = std::thread([this] { Loop(); });
  }

  void Send(core::HttpRequest request, core::HttpCallback done) override {
    Pending pending{std::move(request), std::move(done), {}};
    bool first = false;
    if (inbox_.Push(pending, &first)) {
      // Others queued before this one already woke the loop, which has not
      // taken them yet.
      if (first) curl_multi_wakeup(multi_);
    } else {
      pending.done(RejectedResult(kShuttingDown));
    }
  }

  int InFlight() const override { return in_flight_.load(); }

  void Shutdown(absl::Duration grace) override {
    StartShutdown(grace);
    // From a callback (the loop thread itself) the loop ends on its own.
    if (OnLoopThread()) return;
    absl::MutexLock lock(&join_mu_);
    if (thread_.joinable()) thread_.join();
  }

  void StartShutdown(absl::Duration grace) override {
    inbox_.Stop(grace);
    resolver_.Stop();
    curl_multi_wakeup(multi_);
  }

  bool OnLoopThread() const override {
    return std::this_thread::get_id() == loop_id_.load();
  }

 private:
  void Loop();
  void Admit(Pending pending);
  // From the resolver: a proxied request with its checked address goes
  // back through the inbox; a failed one completes.
  void Resolved(Pending pending, HttpResult result);
  bool Proxied(const Pending& pending) const {
    return !proxy_.url.empty() && !pending.request.bypass_proxy;
  }
  void StartTransfer(Pending pending);
  // Ends the transfer on `easy` (started, perhaps not added to the multi
  // handle): updates the counts, recycles the handle, returns the Transfer
  // whose callback is still to run.
  std::unique_ptr<Transfer> Finish(CURL* easy);
  // Keeps a finished transfer (its callback taken) for the next one.
  void Recycle(std::unique_ptr<Transfer> transfer);
  bool ReapCompleted();
  void AbortAll();

  const CurlSenderOptions options_;
  const std::string thread_name_;  // at most 15 bytes (pthread_setname_np)
  const ProxyEndpoint proxy_;  // its url never carries the credentials
  const AddressPolicy policy_;
  CURLM* const multi_;

  Inbox inbox_;

  absl::Mutex join_mu_;
  std::thread thread_ ABSL_GUARDED_BY(join_mu_);
  std::atomic<std::thread::id> loop_id_{};

  std::atomic<int> in_flight_{0};

  // Loop thread only.
  RequestChecker checker_{options_.allow_http};
  UrlCache urls_;
  Scheduler scheduler_;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> transfers_;
  // Idle easy handles, configured by ConfigureHandle (curl keeps options
  // between transfers; ConfigureTransfer sets every per-transfer one
  // again).
  std::vector<CURL*> pool_;
  // ReapCompleted's list of callbacks to run, empty between calls.
  std::vector<std::pair<core::HttpCallback, HttpResult>> reaped_;
  // Finished transfers, emptied, at most max_in_flight.
  std::vector<std::unique_ptr<Transfer>> spare_transfers_;

  // Last: stopped and joined before the rest goes.
  DestinationResolver resolver_;
};

void CurlSenderImpl::Loop() {
  pthread_setname_np(pthread_self(), thread_name_.c_str());
  loop_id_.store(std::this_thread::get_id());
  while (true) {
    Inbox::Batch batch = inbox_.Take();
    for (Pending& pending : batch.pending) Admit(std::move(pending));
    inbox_.Recycle(std::move(batch.pending));
    const bool stopping = batch.stopping;
    const absl::Time deadline = batch.deadline;
    if (stopping) {
      for (Pending& pending : scheduler_.TakeQueued()) {
        pending.done(RejectedResult(kShuttingDown));
      }
    } else {
      while (std::optional<Pending> next = scheduler_.Next()) {
        StartTransfer(std::move(*next));
      }
    }
    int running = 0;
    curl_multi_perform(multi_, &running);
    const bool finished = ReapCompleted();
    if (stopping && (transfers_.empty() || absl::Now() >= deadline)) break;
    if (finished) continue;  // slots opened: start more before waiting
    int64_t wait_ms = 1000;
    if (stopping) {
      wait_ms = std::clamp<int64_t>(
          absl::ToInt64Milliseconds(deadline - absl::Now()) + 1, 0, wait_ms);
    }
    curl_multi_poll(multi_, nullptr, 0, static_cast<int>(wait_ms), nullptr);
  }
  AbortAll();
}

void CurlSenderImpl::Admit(Pending pending) {
  absl::StatusOr<std::shared_ptr<const CheckedRequest>> checked =
      checker_.Check(pending.request);
  if (!checked.ok()) {
    pending.done(RejectedResult(std::string(checked.status().message())));
    return;
  }
  pending.checked = *std::move(checked);  // shared, not copied
  if (Proxied(pending) && pending.connect_ip.empty() &&
      !resolver_.Resolve(pending)) {
    pending.done(RejectedResult(kShuttingDown));
    return;
  }
  if (Proxied(pending) && pending.connect_ip.empty()) return;  // resolving
  scheduler_.Push(std::move(pending));
}

void CurlSenderImpl::Resolved(Pending pending, HttpResult result) {
  if (result.outcome != Outcome::kResponse) {
    pending.done(std::move(result));
    return;
  }
  bool first = false;
  if (!inbox_.Push(pending, &first)) {
    pending.done(RejectedResult(kShuttingDown));
  } else if (first) {
    curl_multi_wakeup(multi_);
  }
}

void CurlSenderImpl::StartTransfer(Pending pending) {
  std::unique_ptr<Transfer> transfer;
  if (!spare_transfers_.empty()) {
    transfer = std::move(spare_transfers_.back());
    spare_transfers_.pop_back();
  } else {
    transfer = std::make_unique<Transfer>(options_.max_response_body,
                                          options_.max_response_headers,
                                          &policy_);
  }
  transfer->Reset(std::move(pending));
  transfer->error[0] = '\0';
  if (!pool_.empty()) {
    transfer->easy = pool_.back();
    pool_.pop_back();
  } else {
    transfer->easy = curl_easy_init();
    if (transfer->easy != nullptr &&
        ConfigureHandle(transfer->easy, options_) != CURLE_OK) {
      curl_easy_cleanup(transfer->easy);
      transfer->easy = nullptr;
    }
  }
  if (transfer->easy == nullptr) {
    scheduler_.Finished(transfer->pending.checked->destination);
    transfer->pending.done(RejectedResult("curl_easy_init failed"));
    Recycle(std::move(transfer));
    return;
  }
  CURL* easy = transfer->easy;
  Transfer* t = transfer.get();
  transfers_.emplace(easy, std::move(transfer));
  in_flight_.fetch_add(1);
  t->proxied = Proxied(t->pending);
  const CURLcode code = ConfigureTransfer(t, options_, proxy_, urls_);
  if (code == CURLE_OK && curl_multi_add_handle(multi_, easy) == CURLM_OK) {
    return;
  }
  std::unique_ptr<Transfer> failed = Finish(easy);
  failed->pending.done(RejectedResult(
      StrCat("cannot set up the transfer: ",
             code == CURLE_OK ? "curl_multi_add_handle failed"
                              : curl_easy_strerror(code))));
  Recycle(std::move(failed));
}

std::unique_ptr<Transfer> CurlSenderImpl::Finish(CURL* easy) {
  auto it = transfers_.find(easy);
  std::unique_ptr<Transfer> transfer = std::move(it->second);
  transfers_.erase(it);
  curl_multi_remove_handle(multi_, easy);  // fine when it was never added
  in_flight_.fetch_sub(1);
  scheduler_.Finished(transfer->pending.checked->destination);
  curl_slist_free_all(transfer->connect_to);
  transfer->connect_to = nullptr;
  transfer->easy = nullptr;
  if (pool_.size() < static_cast<size_t>(options_.max_in_flight)) {
    pool_.push_back(easy);
  } else {
    curl_easy_cleanup(easy);
  }
  return transfer;
}

void CurlSenderImpl::Recycle(std::unique_ptr<Transfer> transfer) {
  if (spare_transfers_.size() >= static_cast<size_t>(options_.max_in_flight)) {
    return;
  }
  transfer->Empty();
  transfer->url.reset();
  spare_transfers_.push_back(std::move(transfer));
}

bool CurlSenderImpl::ReapCompleted() {
  std::vector<std::pair<core::HttpCallback, HttpResult>> done =
      std::move(reaped_);
  done.clear();
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    CURL* easy = message->easy_handle;
    const CURLcode code = message->data.result;
    auto it = transfers_.find(easy);
    if (it == transfers_.end()) continue;
    HttpResult result = ResultOf(it->second.get(), code, proxy_);
    std::unique_ptr<Transfer> transfer = Finish(easy);
    done.emplace_back(std::move(transfer->pending.done), std::move(result));
    Recycle(std::move(transfer));
  }
  for (auto& [callback, result] : done) callback(std::move(result));
  const bool any = !done.empty();
  done.clear();
  reaped_ = std::move(done);  // its storage, next time
  return any;
}

void CurlSenderImpl::AbortAll() {
  std::vector<CURL*> easies;
  for (const auto& [easy, transfer] : transfers_) easies.push_back(easy);
  for (CURL* easy : easies) {
    std::unique_ptr<Transfer> transfer = Finish(easy);
    HttpResult result = RejectedResult(kShuttingDown);
    result.elapsed = absl::Now() - transfer->start;
    transfer->pending.done(std::move(result));
  }
  // Pushed before Stop but not yet taken, and anything still queued.
  for (Pending& pending : inbox_.Take().pending) {
    pending.done(RejectedResult(kShuttingDown));
  }
  for (Pending& pending : scheduler_.TakeQueued()) {
    pending.done(RejectedResult(kShuttingDown));
  }
}

// One loop: its multi handle set up for `options` (one shard's caps).
absl::StatusOr<std::unique_ptr<CurlSenderImpl>> NewLoop(
    const CurlSenderOptions& options, const AddressPolicy& policy,
    std::string thread_name) {
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) return absl::InternalError("curl_multi_init failed");
  const long per_host = options.max_per_destination;
  // Those in use, and room for idle ones (see max_idle_connections).
  const long connections = std::max<long>(
      static_cast<long>(options.max_in_flight) + options.max_idle_connections,
      4);
  if (curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX) !=
          CURLM_OK ||
      curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, per_host) !=
          CURLM_OK ||
      curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, connections) !=
          CURLM_OK) {
    curl_multi_cleanup(multi);
    return absl::InternalError("curl_multi_setopt failed");
  }
  auto loop = std::make_unique<CurlSenderImpl>(options, policy, multi,
                                               std::move(thread_name));
  loop->StartLoop();
  return loop;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CurlSender>> CurlSender::Create(
    const CurlSenderOptions& options) {
  RETURN_IF_ERROR(ValidateCurlSenderOptions(options));
  ASSIGN_OR_RETURN(AddressPolicy policy,
                   AddressPolicy::Create(options.allowed_cidrs));
  static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (init != CURLE_OK) {
    return absl::InternalError(
        StrCat("curl_global_init: ", curl_easy_strerror(init)));
  }
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  if (info == nullptr || (info->features & CURL_VERSION_SSL) == 0) {
    return absl::InternalError("libcurl has no TLS support");
  }
  if (options.sender_threads == 1) {
    return NewLoop(options, policy, "curl-sender");
  }
  return MakeSenderPool(
      options,
      [&policy](const CurlSenderOptions& part, std::string thread_name)
          -> absl::StatusOr<std::unique_ptr<CurlSender>> {
        return NewLoop(part, policy, std::move(thread_name));
      });
}

}  // namespace webhooks::delivery
