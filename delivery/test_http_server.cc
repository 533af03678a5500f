#include "delivery/test_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/strings.h"
#include "tests/http_wire.h"

namespace webhooks::delivery::testing {

std::string ReceivedRequest::Header(std::string_view name) const {
  return test_support::HeaderValue(headers, name);
}

TestHttpServer::TestHttpServer() = default;

TestHttpServer::~TestHttpServer() {
  Stop();
  if (tls_ != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(tls_));
}

absl::Status TestHttpServer::Start(const std::string& cert_file,
                                   const std::string& key_file) {
  signal(SIGPIPE, SIG_IGN);  // SSL_write to a closed peer
  if (!cert_file.empty()) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    tls_ = ctx;
    if (ctx == nullptr ||
        SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) !=
            1) {
      return absl::InternalError("cannot load the test certificate");
    }
  }
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return absl::InternalError("socket");
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(listen_fd_, 128) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address),
                  &length) != 0) {
    return absl::InternalError("bind/listen on 127.0.0.1:0");
  }
  port_ = ntohs(address.sin_port);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
  return absl::OkStatus();
}

void TestHttpServer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
  }
  if (!stopping_.HasBeenNotified()) stopping_.Notify();
  if (accept_thread_.joinable()) accept_thread_.join();
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    threads.swap(threads_);
  }
  for (std::thread& thread : threads) thread.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  listen_fd_ = -1;
}

std::string TestHttpServer::Url(std::string_view path) const {
  return StrCat(tls_ != nullptr ? "https" : "http", "://127.0.0.1:", port_,
                path);
}

void TestHttpServer::Handle(const std::string& path, Handler handler) {
  absl::MutexLock lock(&mu_);
  handlers_[path] = std::move(handler);
}

int TestHttpServer::connections() const {
  absl::MutexLock lock(&mu_);
  return connections_;
}

int TestHttpServer::max_concurrent() const {
  absl::MutexLock lock(&mu_);
  return max_active_;
}

std::vector<ReceivedRequest> TestHttpServer::requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

bool TestHttpServer::WaitForRequests(size_t n, absl::Duration timeout) const {
  auto enough = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return requests_.size() >= n;
  };
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

Handler TestHttpServer::HandlerFor(const std::string& path) const {
  const std::string bare = path.substr(0, path.find('?'));
  absl::MutexLock lock(&mu_);
  auto it = handlers_.find(bare);
  if (it != handlers_.end()) return it->second;
  return [](const ReceivedRequest&) {
    ScriptedResponse response;
    response.status = 404;
    response.reason = "Not Found";
    return response;
  };
}

void TestHttpServer::AcceptLoop() {
  while (!stopping_.HasBeenNotified()) {
    pollfd p = {listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    absl::MutexLock lock(&mu_);
    if (stopped_) {
      close(fd);
      break;
    }
    const int one = 1;  // no Nagle delay between header and body writes
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const int ordinal = ++connections_;
    open_fds_.insert(fd);
    threads_.emplace_back([this, fd, ordinal] { Serve(fd, ordinal); });
  }
}

void TestHttpServer::Serve(int fd, int ordinal) {
  SSL* ssl = nullptr;
  if (tls_ != nullptr) {
    ssl = SSL_new(static_cast<SSL_CTX*>(tls_));
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
      ERR_clear_error();
      SSL_free(ssl);
      ssl = nullptr;
      absl::MutexLock lock(&mu_);
      open_fds_.erase(fd);
      close(fd);
      return;
    }
  }
  test_support::HttpWire connection(fd, ssl);
  bool reset = false;
  while (true) {
    std::optional<test_support::WireRequest> wire = connection.ReadRequest();
    if (!wire.has_value()) break;
    ReceivedRequest request;
    request.method = std::move(wire->method);
    request.path = std::move(wire->target);
    request.headers = std::move(wire->headers);
    request.body = std::move(wire->body);
    request.connection = ordinal;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(request);
      max_active_ = std::max(max_active_, ++active_);
    }
    const ScriptedResponse response = HandlerFor(request.path)(request);
    if (response.delay > absl::ZeroDuration()) {
      stopping_.WaitForNotificationWithTimeout(response.delay);
    }
    bool ok = response.action == ScriptedResponse::Action::kAnswer &&
              !stopping_.HasBeenNotified();
    if (ok) {
      std::string out = StrCat("HTTP/1.1 ", response.status, " ",
                               response.reason, "\r\n");
      for (const auto& [name, value] : response.headers) {
        out += StrCat(name, ": ", value, "\r\n");
      }
      if (response.status >= 200 && response.status != 204 &&
          response.status != 304) {
        out += StrCat("Content-Length: ", response.body.size(), "\r\n");
      }
      out += "\r\n";
      // Written apart so a large body cannot hold the header back.
      ok = connection.WriteAll(out) && connection.WriteAll(response.body);
    }
    reset = response.action == ScriptedResponse::Action::kReset;
    {
      absl::MutexLock lock(&mu_);
      --active_;
    }
    if (!ok || absl::EqualsIgnoreCase(AsAbsl(request.Header("Connection")),
                                      "close")) {
      break;
    }
  }
  if (reset) {
    const linger hard = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
  }
  absl::MutexLock lock(&mu_);
  open_fds_.erase(fd);
  close(fd);
}

}  // namespace webhooks::delivery::testing
