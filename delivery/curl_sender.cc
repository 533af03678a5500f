#include "delivery/curl_sender.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "delivery/address_policy.h"
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

// One request on the wire: its state (transfer.h) and its easy handle.
struct Transfer : TransferState {
  using TransferState::TransferState;

  CURL* easy = nullptr;
  // The list curl reads over header_text's lines (curl never changes or
  // frees it): one block, where curl_slist_append would allocate two per
  // line.
  std::vector<curl_slist> headers;
  curl_slist* connect_to = nullptr;
  std::shared_ptr<CURLU> url;  // parsed once per URL (CurlSenderImpl::urls_)
  char error[CURL_ERROR_SIZE] = {};
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  // Returning less than given (only once the cap is passed) makes curl stop
  // with CURLE_WRITE_ERROR; the result then still counts as a response.
  return transfer->response.OnBody({data, size * count}) ? size * count : 0;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  static_cast<Transfer*>(user)->response.OnHeaderLine({data, size * count});
  return size * count;
}

// The SSRF guard: every socket curl opens for a transfer comes through here
// with the address it is about to connect to.
curl_socket_t OpenSocket(void* user, curlsocktype purpose,
                         curl_sockaddr* address) {
  auto* transfer = static_cast<Transfer*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN ||
      (!transfer->proxied && !transfer->guard.Allow(&address->addr))) {
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype | SOCK_CLOEXEC,
                address->protocol);
}

// CURLE_SSL_* and certificate verification failures.
constexpr CURLcode kTlsErrors[] = {
    CURLE_SSL_CONNECT_ERROR,     CURLE_SSL_ENGINE_NOTFOUND,
    CURLE_SSL_ENGINE_SETFAILED,  CURLE_SSL_CERTPROBLEM,
    CURLE_SSL_CIPHER,            CURLE_PEER_FAILED_VERIFICATION,
    CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_CACERT_BADFILE,
    CURLE_SSL_SHUTDOWN_FAILED,   CURLE_SSL_CRL_BADFILE,
    CURLE_SSL_ISSUER_ERROR,      CURLE_SSL_PINNEDPUBKEYNOTMATCH,
    CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT,
    CURLE_USE_SSL_FAILED};

Outcome OutcomeOf(CURLcode code) {
  if (code == CURLE_OPERATION_TIMEDOUT) return Outcome::kTimeout;
  if (std::find(std::begin(kTlsErrors), std::end(kTlsErrors), code) !=
      std::end(kTlsErrors)) {
    return Outcome::kTlsError;
  }
  if (code == CURLE_UNSUPPORTED_PROTOCOL || code == CURLE_URL_MALFORMAT) {
    return Outcome::kRejected;  // CheckRequest should have caught these
  }
  return Outcome::kConnectError;  // resolve, connect, send, receive, ...
}

// Sets options in order, keeping the first failure.
class EasySetter {
 public:
  explicit EasySetter(CURL* easy) : easy_(easy) {}
  template <typename T>
  EasySetter& Set(CURLoption option, T value) {
    if (code_ == CURLE_OK) code_ = curl_easy_setopt(easy_, option, value);
    return *this;
  }
  CURLcode code() const { return code_; }

 private:
  CURL* easy_;
  CURLcode code_ = CURLE_OK;
};

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
  // Sets the options every transfer shares, once per easy handle.
  CURLcode ConfigureHandle(CURL* easy);
  // Sets the options of this transfer (the handle is configured).
  CURLcode Configure(Transfer* transfer);
  // Ends the transfer on `easy` (started, perhaps not added to the multi
  // handle): updates the counts, recycles the handle, returns the Transfer
  // whose callback is still to run.
  std::unique_ptr<Transfer> Finish(CURL* easy);
  // Keeps a finished transfer (its callback taken) for the next one.
  void Recycle(std::unique_ptr<Transfer> transfer);
  HttpResult ResultOf(Transfer* transfer, CURLcode code);
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
  // Parsed URLs by normalized URL, at most kMaxUrls (all dropped when full;
  // transfers keep theirs alive).
  static constexpr size_t kMaxUrls = 4096;
  absl::flat_hash_map<std::string, std::shared_ptr<CURLU>> urls_;
  Scheduler scheduler_;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> transfers_;
  // Idle easy handles, configured by ConfigureHandle (curl keeps options
  // between transfers; Configure sets every per-transfer one again).
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
        ConfigureHandle(transfer->easy) != CURLE_OK) {
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
  const CURLcode code = Configure(t);
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

CURLcode CurlSenderImpl::ConfigureHandle(CURL* easy) {
  EasySetter set(easy);
  set.Set(CURLOPT_NOSIGNAL, 1L)
      .Set(CURLOPT_FOLLOWLOCATION, 0L)
      .Set(CURLOPT_PROTOCOLS_STR, options_.allow_http ? "http,https" : "https")
      .Set(CURLOPT_SSL_VERIFYPEER, 1L)
      .Set(CURLOPT_SSL_VERIFYHOST, 2L)  // 2 is "verify"; 1 means the same
      .Set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS))
      .Set(CURLOPT_WRITEFUNCTION, &OnBody)
      .Set(CURLOPT_HEADERFUNCTION, &OnHeader)
      .Set(CURLOPT_OPENSOCKETFUNCTION, &OpenSocket)
      // The same for every transfer: Basic with a proxy's CONNECT, PEM
      // client certificates.
      .Set(CURLOPT_PROXYAUTH, static_cast<long>(CURLAUTH_BASIC))
      .Set(CURLOPT_SSLCERTTYPE, "PEM")
      .Set(CURLOPT_SSLKEYTYPE, "PEM");
  if (!options_.ca_bundle.empty()) {
    set.Set(CURLOPT_CAINFO, options_.ca_bundle.c_str())
        .Set(CURLOPT_PROXY_CAINFO, options_.ca_bundle.c_str());  // https://
  }
  return set.code();
}

CURLcode CurlSenderImpl::Configure(Transfer* t) {
  AppendCurlHeaderText(t->pending.request.headers, &t->header_text);  // empty: Reset
  t->headers.clear();
  // Checked: no NUL inside a line, so each NUL ends one.
  char* const end = t->header_text.data() + t->header_text.size();
  for (char* line = t->header_text.data(); line < end;
       line = static_cast<char*>(memchr(line, '\0', end - line)) + 1) {
    t->headers.push_back(curl_slist{line, nullptr});
  }
  for (size_t i = 1; i < t->headers.size(); ++i) {
    t->headers[i - 1].next = &t->headers[i];
  }
  const core::HttpRequest& request = t->pending.request;
  t->proxied = Proxied(t->pending);
  if (t->proxied) {
    t->connect_to = curl_slist_append(nullptr,
                                      ConnectToEntry(t->pending).c_str());
    if (t->connect_to == nullptr) return CURLE_OUT_OF_MEMORY;
  }
  // curl copies blobs (CURL_BLOB_COPY) while setting them.
  curl_blob cert{const_cast<char*>(request.client_certificate_pem.data()),
                 request.client_certificate_pem.size(), CURL_BLOB_COPY};
  curl_blob key{const_cast<char*>(request.client_key_pem.data()),
                request.client_key_pem.size(), CURL_BLOB_COPY};
  const bool has_cert = !request.client_certificate_pem.empty();
  const bool authenticate = t->proxied && !proxy_.user.empty();
  // Every option a transfer sets differently, all of them each time: the
  // handle keeps the previous transfer's values.
  EasySetter set(t->easy);
  auto parsed = urls_.find(t->pending.checked->url);
  if (parsed == urls_.end()) {
    std::shared_ptr<CURLU> url(curl_url(), &curl_url_cleanup);
    if (url == nullptr || curl_url_set(url.get(), CURLUPART_URL,
                                       t->pending.checked->url.c_str(),
                                       0) != CURLUE_OK) {
      return CURLE_URL_MALFORMAT;
    }
    if (urls_.size() >= kMaxUrls) urls_.clear();
    parsed = urls_.emplace(t->pending.checked->url, std::move(url)).first;
  }
  t->url = parsed->second;
  set.Set(CURLOPT_CURLU, t->url.get())
      .Set(CURLOPT_ERRORBUFFER, t->error)
      // Over TLS, wait for ALPN to tell whether an existing connection can
      // multiplex (HTTP/2) rather than open more. Not over plain http, where
      // curl learns "HTTP/1.1, no multiplexing" only from the first response
      // and would hold the other transfers back until then.
      .Set(CURLOPT_PIPEWAIT,
           absl::StartsWith(t->pending.checked->url, "https:") ? 1L : 0L)
      .Set(CURLOPT_HTTPHEADER, t->headers.empty() ? nullptr : &t->headers[0])
      .Set(CURLOPT_WRITEDATA, static_cast<void*>(t))
      .Set(CURLOPT_HEADERDATA, static_cast<void*>(t))
      .Set(CURLOPT_OPENSOCKETDATA, static_cast<void*>(t))
      .Set(CURLOPT_POSTFIELDSIZE_LARGE,
           static_cast<curl_off_t>(request.body.size()))
      .Set(CURLOPT_POSTFIELDS, request.body.data())
      .Set(CURLOPT_CUSTOMREQUEST,
           request.method == "POST" ? nullptr : request.method.c_str())
      // "" ignores the *_proxy environment variables.
      .Set(CURLOPT_PROXY, t->proxied ? proxy_.url.c_str() : "")
      // Basic, sent with the CONNECT (an https:// proxy keeps it private).
      .Set(CURLOPT_PROXYUSERNAME, authenticate ? proxy_.user.c_str() : nullptr)
      .Set(CURLOPT_PROXYPASSWORD,
           authenticate ? proxy_.password.c_str() : nullptr)
      .Set(CURLOPT_HTTPPROXYTUNNEL, t->proxied ? 1L : 0L)
      .Set(CURLOPT_CONNECT_TO, t->connect_to)
      .Set(CURLOPT_SSLCERT_BLOB, has_cert ? &cert : nullptr)
      .Set(CURLOPT_SSLKEY_BLOB, has_cert ? &key : nullptr)
      // The request's own timeouts (a subscription's), else the server's.
      .Set(CURLOPT_CONNECTTIMEOUT_MS,
           static_cast<long>(absl::ToInt64Milliseconds(
               request.connect_timeout > absl::ZeroDuration()
                   ? request.connect_timeout
                   : options_.connect_timeout)))
      .Set(CURLOPT_TIMEOUT_MS,
           static_cast<long>(absl::ToInt64Milliseconds(
               request.total_timeout > absl::ZeroDuration()
                   ? request.total_timeout
                   : options_.total_timeout)));
  return set.code();
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

// What a timed-out transfer was waiting for (see TimeoutMessage).
std::string TimeoutMessageOf(CURL* easy, absl::Duration elapsed) {
  curl_off_t connected_us = 0, tls_us = 0, first_byte_us = 0;
  curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connected_us);
  curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &tls_us);
  curl_easy_getinfo(easy, CURLINFO_STARTTRANSFER_TIME_T, &first_byte_us);
  char* scheme = nullptr;
  curl_easy_getinfo(easy, CURLINFO_SCHEME, &scheme);
  // curl 7.88 times the connect only once TLS is up too; a local port
  // means the TCP connection was made.
  long local_port = 0;
  curl_easy_getinfo(easy, CURLINFO_LOCAL_PORT, &local_port);
  return TimeoutMessage(
      {.connected = connected_us != 0 || local_port != 0,
       .https = scheme != nullptr && absl::EqualsIgnoreCase(scheme, "https"),
       .tls_done = tls_us != 0,
       .first_byte = first_byte_us != 0},
      elapsed);
}

// Names the proxy in failures that are its own (see ExplainProxyFailure).
void ExplainProxyFailureOf(CURL* easy, CURLcode code, const std::string& proxy,
                           HttpResult* result) {
  long connect_code = 0, verify = 0;
  curl_easy_getinfo(easy, CURLINFO_HTTP_CONNECTCODE, &connect_code);
  const bool bad_certificate =  // an https:// proxy's
      curl_easy_getinfo(easy, CURLINFO_PROXY_SSL_VERIFYRESULT, &verify) ==
          CURLE_OK &&
      verify != 0;
  ExplainProxyFailure(
      {.connect_code = connect_code,
       .timed_out = code == CURLE_OPERATION_TIMEDOUT,
       .unreachable = code == CURLE_COULDNT_RESOLVE_PROXY ||
                      code == CURLE_COULDNT_CONNECT || bad_certificate},
      proxy, result);
}

HttpResult CurlSenderImpl::ResultOf(Transfer* t, CURLcode code) {
  HttpResult result;
  curl_off_t total_us = 0;
  if (curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &total_us) ==
      CURLE_OK) {
    result.elapsed = absl::Microseconds(total_us);
  } else {
    result.elapsed = absl::Now() - t->start;
  }
  if (code == CURLE_OK ||
      (code == CURLE_WRITE_ERROR && t->response.body_truncated())) {
    result.outcome = Outcome::kResponse;
    t->response.MoveInto(&result);
    long status = 0;
    if (curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status) ==
            CURLE_OK &&
        status != 0) {
      result.status_code = static_cast<int>(status);
    }
    return result;
  }
  if (t->guard.refused_all()) {
    result.outcome = Outcome::kRefusedAddress;
    result.error = t->guard.refusal();
    return result;
  }
  result.outcome = OutcomeOf(code);
  result.error = code == CURLE_OPERATION_TIMEDOUT
                     ? TimeoutMessageOf(t->easy, result.elapsed)
                 : t->error[0] != '\0' ? std::string(t->error)
                                       : std::string(curl_easy_strerror(code));
  if (t->proxied) ExplainProxyFailureOf(t->easy, code, proxy_.url, &result);
  ExplainClientCertificateFailure(
      !t->pending.request.client_certificate_pem.empty(), &result);
  if (!t->guard.refusal().empty()) {
    result.error += StrCat("; ", t->guard.refusal());
  }
  return result;
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
    HttpResult result = ResultOf(it->second.get(), code);
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
