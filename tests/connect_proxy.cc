#include "tests/connect_proxy.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"

namespace webhooks::e2e {
namespace {

// One side of the relay: a socket, with TLS on it for the client side of
// an https:// proxy.
struct Peer {
  int fd = -1;
  SSL* ssl = nullptr;

  ssize_t Read(char* buffer, size_t size) const {
    if (ssl != nullptr) return SSL_read(ssl, buffer, static_cast<int>(size));
    return recv(fd, buffer, size, 0);
  }
  bool Write(std::string_view data) const {
    while (!data.empty()) {
      const ssize_t n =
          ssl != nullptr
              ? SSL_write(ssl, data.data(), static_cast<int>(data.size()))
              : send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // TLS bytes already read from the socket and not yet returned.
  bool Buffered() const { return ssl != nullptr && SSL_pending(ssl) > 0; }
};

// The request head up to the blank line, and whatever followed it.
bool ReadHead(const Peer& peer, std::string& head, std::string& rest) {
  std::string data;
  char buffer[4096];
  while (data.find("\r\n\r\n") == std::string::npos) {
    if (data.size() > 16384) return false;
    const ssize_t n = peer.Read(buffer, sizeof(buffer));
    if (n <= 0) return false;
    data.append(buffer, static_cast<size_t>(n));
  }
  const size_t end = data.find("\r\n\r\n") + 4;
  head = data.substr(0, end);
  rest = data.substr(end);
  return true;
}

// A connected socket to "host:port" ("[v6]:port" too); -1 on failure.
int Dial(const std::string& target) {
  const size_t colon = target.rfind(':');
  if (colon == std::string::npos) return -1;
  std::string host = target.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const std::string port = target.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) return -1;
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  return fd;
}

// Copies bytes both ways until either side closes.
void Relay(const Peer& a, const Peer& b) {
  char buffer[16384];
  const Peer* peers[2] = {&a, &b};
  pollfd fds[2] = {{a.fd, POLLIN, 0}, {b.fd, POLLIN, 0}};
  while (true) {
    fds[0].revents = fds[1].revents = 0;
    if (!a.Buffered() && !b.Buffered() && poll(fds, 2, -1) <= 0) return;
    for (int i = 0; i < 2; ++i) {
      if (!peers[i]->Buffered() &&
          (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
        continue;
      }
      const ssize_t n = peers[i]->Read(buffer, sizeof(buffer));
      if (n <= 0 ||
          !peers[1 - i]->Write({buffer, static_cast<size_t>(n)})) {
        return;
      }
    }
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<ConnectProxy>> ConnectProxy::Start(
    const TestCertificates* tls) {
  std::unique_ptr<ConnectProxy> proxy(new ConnectProxy());
  if (tls != nullptr) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr) return absl::InternalError("SSL_CTX_new failed");
    proxy->ssl_ctx_ = ctx;
    if (SSL_CTX_use_certificate_chain_file(ctx, tls->cert_file().c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, tls->key_file().c_str(),
                                    SSL_FILETYPE_PEM) != 1) {
      return absl::InternalError("cannot load the test server certificate");
    }
  }
  proxy->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (proxy->listen_fd_ < 0) return absl::InternalError("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&address),
           sizeof(address)) != 0 ||
      listen(proxy->listen_fd_, 64) != 0 ||
      getsockname(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&address),
                  &length) != 0) {
    return absl::InternalError("cannot listen on 127.0.0.1");
  }
  proxy->port_ = ntohs(address.sin_port);
  proxy->accept_thread_ = std::thread([p = proxy.get()] { p->AcceptLoop(); });
  return proxy;
}

ConnectProxy::~ConnectProxy() { Stop(); }

void ConnectProxy::Stop() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
  }
  if (accept_thread_.joinable()) accept_thread_.join();
  {
    absl::MutexLock lock(&mu_);
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
  close(listen_fd_);
  if (ssl_ctx_ != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
  ssl_ctx_ = nullptr;
}

std::string ConnectProxy::Url() const {
  return absl::StrCat(ssl_ctx_ != nullptr ? "https" : "http", "://127.0.0.1:",
                      port_);
}

std::vector<std::string> ConnectProxy::Targets() const {
  absl::MutexLock lock(&mu_);
  return targets_;
}

void ConnectProxy::RefuseConnects() {
  absl::MutexLock lock(&mu_);
  refuse_ = true;
}

void ConnectProxy::RequireBasicAuth(std::string_view user,
                                    std::string_view password) {
  absl::MutexLock lock(&mu_);
  required_authorization_ =
      StrCat("Basic ", absl::Base64Escape(StrCat(user, ":", password)));
}

int ConnectProxy::authorized() const {
  absl::MutexLock lock(&mu_);
  return authorized_;
}

int ConnectProxy::unauthorized() const {
  absl::MutexLock lock(&mu_);
  return unauthorized_;
}

int ConnectProxy::connections() const {
  absl::MutexLock lock(&mu_);
  return connections_;
}

bool ConnectProxy::WaitForTargets(size_t n, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return targets_.size() >= n;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

void ConnectProxy::AcceptLoop() {
  while (true) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      if (fd >= 0) close(fd);
      return;
    }
    if (fd < 0) continue;
    ++connections_;
    open_fds_.push_back(fd);
    threads_.emplace_back([this, fd] { Serve(fd); });
  }
}

void ConnectProxy::Serve(int client_fd) {
  Peer client{client_fd, nullptr};
  Peer upstream;
  bool ready = true;
  if (ssl_ctx_ != nullptr) {
    client.ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx_));
    SSL_set_fd(client.ssl, client_fd);
    ready = SSL_accept(client.ssl) == 1;
  }
  std::string head, rest;
  if (ready && ReadHead(client, head, rest)) {
    std::vector<std::string> words =
        absl::StrSplit(head.substr(0, head.find("\r\n")), ' ');
    if (words.size() != 3 || words[0] != "CONNECT") {
      client.Write("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
    } else {
      bool refuse = false;
      bool unauthorized = false;
      {
        absl::MutexLock lock(&mu_);
        targets_.push_back(words[1]);
        refuse = refuse_;
        if (!required_authorization_.empty()) {
          const bool ok = absl::StrContains(
              absl::AsciiStrToLower(head),
              absl::AsciiStrToLower(StrCat("\r\nproxy-authorization: ",
                                           required_authorization_, "\r\n")));
          unauthorized = !ok;
          ++(ok ? authorized_ : unauthorized_);
        }
      }
      if (!refuse && !unauthorized) upstream.fd = Dial(words[1]);
      if (unauthorized) {
        client.Write(
            "HTTP/1.1 407 Proxy Authentication Required\r\n"
            "Proxy-Authenticate: Basic realm=\"test\"\r\n"
            "Content-Length: 0\r\n\r\n");
      } else if (refuse) {
        client.Write("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
      } else if (upstream.fd < 0) {
        client.Write("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
      } else {
        {
          absl::MutexLock lock(&mu_);
          open_fds_.push_back(upstream.fd);
          if (stopping_) shutdown(upstream.fd, SHUT_RDWR);
        }
        if (client.Write("HTTP/1.1 200 Connection established\r\n\r\n") &&
            upstream.Write(rest)) {
          Relay(client, upstream);
        }
      }
    }
  }
  if (client.ssl != nullptr) SSL_free(client.ssl);
  ERR_clear_error();
  absl::MutexLock lock(&mu_);
  for (int fd : {client_fd, upstream.fd}) {
    if (fd < 0) continue;
    std::erase(open_fds_, fd);
    close(fd);
  }
}

}  // namespace webhooks::e2e
