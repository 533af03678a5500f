#include "tests/https_receiver.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/strings.h"
#include "tests/http_wire.h"

namespace webhooks::e2e {
namespace {

constexpr size_t kMaxHeaderBytes = 64 << 10;
constexpr size_t kMaxBodyBytes = 16 << 20;

void Reset(int fd) {
  linger hard{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpsReceiver>> HttpsReceiver::Start(
    const TestCertificates* certificates, const std::string& address) {
  std::unique_ptr<HttpsReceiver> receiver(new HttpsReceiver());
  if (absl::Status s = receiver->Listen(certificates, address, false);
      !s.ok()) {
    return s;
  }
  return receiver;
}

absl::StatusOr<std::unique_ptr<HttpsReceiver>>
HttpsReceiver::StartRequiringClientCert(const TestCertificates* certificates) {
  std::unique_ptr<HttpsReceiver> receiver(new HttpsReceiver());
  if (absl::Status s = receiver->Listen(certificates, "127.0.0.1", true);
      !s.ok()) {
    return s;
  }
  return receiver;
}

absl::StatusOr<std::unique_ptr<HttpsReceiver>> HttpsReceiver::StartHttp(
    const std::string& address) {
  return Start(nullptr, address);
}

absl::Status HttpsReceiver::Listen(const TestCertificates* certificates,
                                   const std::string& address_text,
                                   bool require_client_cert) {
  signal(SIGPIPE, SIG_IGN);  // writes to a peer that went away
  if (certificates != nullptr) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr) return absl::InternalError("SSL_CTX_new failed");
    ssl_ctx_ = ctx;
    if (SSL_CTX_use_certificate_chain_file(
            ctx, certificates->cert_file().c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, certificates->key_file().c_str(),
                                    SSL_FILETYPE_PEM) != 1) {
      return absl::InternalError("cannot load the test server certificate");
    }
    if (require_client_cert) {
      if (SSL_CTX_load_verify_locations(ctx, certificates->ca_file().c_str(),
                                        nullptr) != 1) {
        return absl::InternalError("cannot load the test CA");
      }
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                         nullptr);
      require_client_cert_ = true;
    }
  }
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return absl::InternalError("socket failed");
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  if (inet_pton(AF_INET, address_text.c_str(), &address.sin_addr) != 1) {
    return absl::InvalidArgumentError("not an IPv4 address: " + address_text);
  }
  address_ = address_text;
  socklen_t length = sizeof(address);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(listen_fd_, 128) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) !=
          0) {
    return absl::InternalError("cannot listen on " + address_text + ":0");
  }
  port_ = ntohs(address.sin_port);
  if (pipe2(wake_pipe_, O_CLOEXEC) != 0) {
    return absl::InternalError("pipe failed");
  }
  accept_thread_ = std::thread([this] { AcceptLoop(); });
  return absl::OkStatus();
}

HttpsReceiver::~HttpsReceiver() {
  Stop();
  if (listen_fd_ >= 0) close(listen_fd_);
  for (int fd : wake_pipe_) {
    if (fd >= 0) close(fd);
  }
  if (ssl_ctx_ != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
}

void HttpsReceiver::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    // Unblocks reads and handshakes; the serving threads close the fds.
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
  }
  if (wake_pipe_[1] >= 0) (void)!write(wake_pipe_[1], "x", 1);
  if (accept_thread_.joinable()) accept_thread_.join();
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    threads.swap(threads_);
  }
  for (std::thread& thread : threads) thread.join();
}

std::string HttpsReceiver::Url(std::string_view path,
                               std::string_view host) const {
  return StrCat(tls() ? "https://" : "http://",
                host.empty() ? std::string_view(address_) : host, ":", port_,
                path);
}

void HttpsReceiver::SetReply(std::string_view path, Reply reply) {
  absl::MutexLock lock(&mu_);
  defaults_[std::string(path)] = std::move(reply);
}

void HttpsReceiver::QueueReplies(std::string_view path,
                                 std::vector<Reply> replies) {
  absl::MutexLock lock(&mu_);
  std::deque<Reply>& queue = queued_[std::string(path)];
  for (Reply& reply : replies) queue.push_back(std::move(reply));
}

std::vector<ReceivedRequest> HttpsReceiver::Requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

std::vector<ReceivedRequest> HttpsReceiver::Requests(
    std::string_view path) const {
  absl::MutexLock lock(&mu_);
  std::vector<ReceivedRequest> matching;
  for (const ReceivedRequest& request : requests_) {
    if (request.path == path) matching.push_back(request);
  }
  return matching;
}

size_t HttpsReceiver::Count(std::string_view path) const {
  return Requests(path).size();
}

int HttpsReceiver::connections() const {
  absl::MutexLock lock(&mu_);
  return connections_;
}

int HttpsReceiver::handshake_failures() const {
  absl::MutexLock lock(&mu_);
  return handshake_failures_;
}

int HttpsReceiver::answered() const {
  absl::MutexLock lock(&mu_);
  return answered_;
}

bool HttpsReceiver::WaitForRequests(size_t n, absl::Duration timeout,
                                    std::string_view path) const {
  auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    size_t count = 0;
    for (const ReceivedRequest& request : requests_) {
      if (path.empty() || request.path == path) ++count;
    }
    return count >= n;
  };
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

bool HttpsReceiver::WaitForAnswers(int n, absl::Duration timeout) const {
  auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return answered_ >= n;
  };
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

bool HttpsReceiver::WaitForHandshakeFailures(int n,
                                             absl::Duration timeout) const {
  auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return handshake_failures_ >= n;
  };
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

Reply HttpsReceiver::NextReply(const std::string& path) {
  absl::MutexLock lock(&mu_);
  auto queued = queued_.find(path);
  if (queued != queued_.end() && !queued->second.empty()) {
    Reply reply = std::move(queued->second.front());
    queued->second.pop_front();
    return reply;
  }
  auto fallback = defaults_.find(path);
  return fallback == defaults_.end() ? Reply() : fallback->second;
}

bool HttpsReceiver::Sleep(absl::Duration wait) const {
  absl::MutexLock lock(&mu_);
  return !mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait);
}

void HttpsReceiver::AcceptLoop() {
  int number = 0;
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      close(fd);
      return;
    }
    ++connections_;
    open_fds_.push_back(fd);
    threads_.emplace_back([this, fd, n = ++number] { Serve(fd, n); });
  }
}

void HttpsReceiver::Serve(int fd, int number) {
  SSL* ssl = nullptr;
  if (ssl_ctx_ != nullptr) {
    ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx_));
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
      ERR_clear_error();
      SSL_free(ssl);
      if (require_client_cert_) {
        // Close without a reset, as web servers do: the client reads the
        // TLS alert (TLS 1.3 sends it after the client's handshake ended)
        // rather than a reset that discards it.
        shutdown(fd, SHUT_WR);
        char sink[4096];
        pollfd readable{fd, POLLIN, 0};
        while (poll(&readable, 1, 5000) > 0 &&
               recv(fd, sink, sizeof(sink), 0) > 0) {
        }
      }
      ssl = nullptr;
      absl::MutexLock lock(&mu_);
      ++handshake_failures_;
      std::erase(open_fds_, fd);
      close(fd);
      return;
    }
  }
  std::string client_subject;
  if (ssl != nullptr) {
    if (X509* peer = SSL_get1_peer_certificate(ssl); peer != nullptr) {
      BIO* out = BIO_new(BIO_s_mem());
      X509_NAME_print_ex(out, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253);
      char* data = nullptr;
      const long size = BIO_get_mem_data(out, &data);
      if (size > 0) client_subject.assign(data, static_cast<size_t>(size));
      BIO_free(out);
      X509_free(peer);
    }
  }
  {
    test_support::HttpWire connection(fd, ssl);
    bool keep_open = true;
    while (keep_open) {
      std::optional<test_support::WireRequest> wire = connection.ReadRequest(
          {.max_head_bytes = kMaxHeaderBytes, .max_body_bytes = kMaxBodyBytes});
      if (!wire.has_value()) break;
      const bool close_after = wire->close;
      ReceivedRequest request;
      request.method = std::move(wire->method);
      request.path = std::string(wire->path());
      request.headers = std::move(wire->headers);
      request.body = std::move(wire->body);
      request.arrival = absl::Now();
      request.connection = number;
      request.client_subject = client_subject;
      const std::string path = request.path;
      {
        absl::MutexLock lock(&mu_);
        requests_.push_back(std::move(request));
      }
      const Reply reply = NextReply(path);
      if (reply.action == Reply::Action::kHang) {
        Sleep(absl::InfiniteDuration());
        break;
      }
      if (reply.action == Reply::Action::kReset) {
        Reset(fd);
        break;
      }
      if (reply.delay > absl::ZeroDuration() && !Sleep(reply.delay)) break;
      std::string response = absl::StrCat(
          "HTTP/1.1 ", reply.status, " ",
          reply.reason.empty() ? ReasonPhrase(reply.status) : reply.reason,
          "\r\nContent-Length: ", reply.body.size(), "\r\n");
      for (const auto& [name, value] : reply.headers) {
        absl::StrAppend(&response, name, ": ", value, "\r\n");
      }
      if (close_after) absl::StrAppend(&response, "Connection: close\r\n");
      absl::StrAppend(&response, "\r\n", reply.body);
      if (!connection.WriteAll(response)) break;
      {
        absl::MutexLock lock(&mu_);
        ++answered_;
      }
      keep_open = !close_after;
    }
  }
  absl::MutexLock lock(&mu_);
  std::erase(open_fds_, fd);
  close(fd);
}

}  // namespace webhooks::e2e
