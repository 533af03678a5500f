#include "bench/http_receiver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <deque>
#include <unordered_set>
#include <utility>

#include "bench/stats.h"
#include "common/strings.h"

namespace webhooks::bench {
namespace {

constexpr size_t kMaxHead = 64 << 10;
constexpr size_t kReadChunk = 64 << 10;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string OpenSslError() {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(e, buffer, sizeof(buffer));
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  bool handshaken = false;
  bool tls_wants_write = false;
  bool polling_out = false;
  bool continue_sent = false;
  bool close_after_flush = false;
  std::string in;
  size_t in_off = 0;
  std::string out;
  size_t out_off = 0;
  int delayed = 0;      // responses held (Loop::held) for this connection
  bool closed = false;  // closed while some were held; freed by the last
};

// A response held back (ReceiverOptions::delay_s) until `due`.
struct Held {
  double due;
  Conn* conn;
  bool close;  // the request asked for Connection: close
};

// Tag for the wake-up descriptor in the epoll set (listening sockets are
// tagged with their place in Loop::listen_fds).
char wake_tag;

}  // namespace

std::string_view HeaderValue(std::string_view head, std::string_view name) {
  size_t pos = head.find("\r\n");  // skip the request line
  while (pos != std::string_view::npos) {
    pos += 2;
    size_t end = head.find("\r\n", pos);
    std::string_view line = head.substr(
        pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos &&
        EqualsIgnoreCase(Trim(line.substr(0, colon)), name)) {
      return Trim(line.substr(colon + 1));
    }
    pos = end;
  }
  return {};
}

struct HttpReceiver::Loop {
  int index = 0;
  std::vector<int> listen_fds;  // one per port; not resized once running
  int epoll_fd = -1;
  int wake_fd = -1;
  SSL_CTX* ctx = nullptr;
  const OnRequest* on_request = nullptr;
  std::string response;
  double delay_s = 0;
  std::deque<Held> held;  // in due order: one delay for all
  std::atomic<bool> stop{false};
  std::atomic<int> tid{0};
  alignas(64) std::atomic<int64_t> requests{0};
  std::atomic<int64_t> connections{0};
  std::atomic<int64_t> errors{0};
  std::unordered_set<Conn*> conns;

  ~Loop() {
    for (const Held& h : held) {
      if (--h.conn->delayed == 0 && h.conn->closed) delete h.conn;
    }
    for (Conn* c : conns) {
      if (c->ssl != nullptr) SSL_free(c->ssl);
      close(c->fd);
      delete c;
    }
    for (int fd : listen_fds) close(fd);
    if (epoll_fd >= 0) close(epoll_fd);
    if (wake_fd >= 0) close(wake_fd);
  }

  void Run() {
    tid.store(static_cast<int>(syscall(SYS_gettid)));
    epoll_event events[256];
    while (!stop.load(std::memory_order_relaxed)) {
      int timeout_ms = -1;
      if (!held.empty()) {
        timeout_ms = static_cast<int>(
            std::max(0.0, std::ceil((held.front().due - Now()) * 1e3)));
      }
      const int n = epoll_wait(epoll_fd, events, 256, timeout_ms);
      if (n < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (!held.empty()) Release();
      for (int i = 0; i < n; ++i) {
        void* ptr = events[i].data.ptr;
        if (ptr == &wake_tag) {
          uint64_t value;
          (void)!read(wake_fd, &value, sizeof(value));
        } else if (ptr >= static_cast<void*>(listen_fds.data()) &&
                   ptr < static_cast<void*>(listen_fds.data() +
                                            listen_fds.size())) {
          Accept(*static_cast<int*>(ptr));
        } else {
          Handle(static_cast<Conn*>(ptr), events[i].events);
        }
      }
    }
  }

  void Accept(int listen_fd) {
    while (true) {
      const int fd = accept4(listen_fd, nullptr, nullptr,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or out of descriptors: try next time
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      auto* c = new Conn;
      c->fd = fd;
      if (ctx != nullptr) {
        c->ssl = SSL_new(ctx);
        SSL_set_fd(c->ssl, fd);
        SSL_set_accept_state(c->ssl);
      }
      epoll_event event{};
      event.events = EPOLLIN | EPOLLRDHUP;
      event.data.ptr = c;
      if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
        if (c->ssl != nullptr) SSL_free(c->ssl);
        close(fd);
        delete c;
        continue;
      }
      conns.insert(c);
      connections.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void Close(Conn* c, bool error) {
    if (error) errors.fetch_add(1, std::memory_order_relaxed);
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, nullptr);
    if (c->ssl != nullptr) SSL_free(c->ssl);
    close(c->fd);
    conns.erase(c);
    if (c->delayed > 0) {
      c->closed = true;  // Release frees it with its last held response
    } else {
      delete c;
    }
  }

  // Sends the held responses that are due.
  void Release() {
    const double now = Now();
    while (!held.empty() && held.front().due <= now) {
      const Held h = held.front();
      held.pop_front();
      Conn* c = h.conn;
      if (--c->delayed == 0 && c->closed) {
        delete c;
        continue;
      }
      if (c->closed) continue;
      c->out += response;
      if (h.close) c->close_after_flush = true;
      Send(c, false);
    }
  }

  // Reads what the socket has; false when the connection must close
  // (`error` set for a failure, not for an orderly end).
  bool ReadAll(Conn* c, bool& eof, bool& error) {
    char buffer[kReadChunk];
    c->tls_wants_write = false;
    if (c->ssl == nullptr) {
      while (true) {
        const ssize_t n = read(c->fd, buffer, sizeof(buffer));
        if (n > 0) {
          c->in.append(buffer, static_cast<size_t>(n));
          if (static_cast<size_t>(n) < sizeof(buffer)) return true;
          continue;
        }
        if (n == 0) {
          eof = true;
          return true;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
        if (errno == EINTR) continue;
        error = errno != ECONNRESET;
        return false;
      }
    }
    if (!c->handshaken) {
      ERR_clear_error();
      const int r = SSL_do_handshake(c->ssl);
      if (r != 1) {
        const int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ) return true;
        if (e == SSL_ERROR_WANT_WRITE) {
          c->tls_wants_write = true;
          return true;
        }
        error = true;
        return false;
      }
      c->handshaken = true;
    }
    while (true) {
      ERR_clear_error();
      const int n = SSL_read(c->ssl, buffer, sizeof(buffer));
      if (n > 0) {
        c->in.append(buffer, static_cast<size_t>(n));
        continue;  // records may be buffered inside OpenSSL: drain them
      }
      const int e = SSL_get_error(c->ssl, n);
      if (e == SSL_ERROR_WANT_READ) return true;
      if (e == SSL_ERROR_WANT_WRITE) {
        c->tls_wants_write = true;
        return true;
      }
      if (e == SSL_ERROR_ZERO_RETURN) {
        eof = true;
        return true;
      }
      // A peer that closes without close_notify is an end, not an error.
      eof = true;
      return true;
    }
  }

  // Parses and answers whole requests; false on a protocol error.
  bool Process(Conn* c) {
    while (c->in_off < c->in.size()) {
      std::string_view data(c->in.data() + c->in_off, c->in.size() - c->in_off);
      const size_t head_end = data.find("\r\n\r\n");
      if (head_end == std::string_view::npos) {
        if (data.size() > kMaxHead) return false;
        break;
      }
      const std::string_view head = data.substr(0, head_end);
      if (!HeaderValue(head, "transfer-encoding").empty()) {
        c->out += "HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n"
                  "Connection: close\r\n\r\n";
        c->close_after_flush = true;
        c->in.clear();
        c->in_off = 0;
        return true;
      }
      size_t length = 0;
      const std::string_view cl = HeaderValue(head, "content-length");
      if (!cl.empty()) {
        auto [p, ec] = std::from_chars(cl.data(), cl.data() + cl.size(), length);
        if (ec != std::errc() || p != cl.data() + cl.size()) return false;
      }
      const size_t total = head_end + 4 + length;
      if (data.size() < total) {
        if (!c->continue_sent &&
            EqualsIgnoreCase(HeaderValue(head, "expect"), "100-continue")) {
          c->out += "HTTP/1.1 100 Continue\r\n\r\n";
          c->continue_sent = true;
        }
        break;
      }
      if (*on_request) {
        (*on_request)(Received{head, data.substr(head_end + 4, length), Now(),
                               index});
      }
      requests.fetch_add(1, std::memory_order_relaxed);
      const bool close =
          EqualsIgnoreCase(HeaderValue(head, "connection"), "close");
      if (delay_s > 0) {
        held.push_back(Held{Now() + delay_s, c, close});
        ++c->delayed;
      } else {
        c->out += response;
        if (close) c->close_after_flush = true;
      }
      c->continue_sent = false;
      c->in_off += total;
    }
    if (c->in_off == c->in.size()) {
      c->in.clear();
      c->in_off = 0;
    } else if (c->in_off > kMaxHead) {
      c->in.erase(0, c->in_off);
      c->in_off = 0;
    }
    return true;
  }

  // Writes what is queued; false when the connection failed.
  bool Flush(Conn* c) {
    while (c->out_off < c->out.size()) {
      const char* p = c->out.data() + c->out_off;
      const size_t size = c->out.size() - c->out_off;
      if (c->ssl == nullptr) {
        const ssize_t n = send(c->fd, p, size, MSG_NOSIGNAL);
        if (n > 0) {
          c->out_off += static_cast<size_t>(n);
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n < 0 && errno == EINTR) continue;
        return false;
      }
      ERR_clear_error();
      const int n = SSL_write(c->ssl, p, static_cast<int>(size));
      if (n > 0) {
        c->out_off += static_cast<size_t>(n);
        continue;
      }
      const int e = SSL_get_error(c->ssl, n);
      if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) break;
      return false;
    }
    if (c->out_off == c->out.size()) {
      c->out.clear();
      c->out_off = 0;
    }
    return true;
  }

  void Handle(Conn* c, uint32_t events) {
    if (events & EPOLLERR) return Close(c, false);
    bool eof = false, error = false;
    if (!ReadAll(c, eof, error)) return Close(c, error);
    if (!Process(c)) return Close(c, true);
    Send(c, eof);
  }

  // Flushes what is queued, closes when done (or the peer is gone), and
  // polls for writing while output is left.
  void Send(Conn* c, bool eof) {
    if (!Flush(c)) return Close(c, false);
    if (c->out.empty() && (eof || c->close_after_flush)) return Close(c, false);
    if (eof && !c->out.empty()) return Close(c, false);  // peer is gone
    const bool want_out = !c->out.empty() || c->tls_wants_write;
    if (want_out != c->polling_out) {
      epoll_event event{};
      event.events = EPOLLIN | EPOLLRDHUP | (want_out ? EPOLLOUT : 0u);
      event.data.ptr = c;
      epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &event);
      c->polling_out = want_out;
    }
  }
};

absl::StatusOr<std::unique_ptr<HttpReceiver>> HttpReceiver::Start(
    const ReceiverOptions& options, OnRequest on_request) {
  std::unique_ptr<HttpReceiver> receiver(new HttpReceiver());
  receiver->on_request_ = std::move(on_request);
  const bool tls = !options.cert_file.empty() && !options.key_file.empty();
  receiver->tls_ = tls;
  SSL_CTX* ctx = nullptr;
  if (tls) {
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr) return absl::InternalError(OpenSslError());
    receiver->ssl_ctx_ = ctx;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(),
                                    SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      return absl::InvalidArgumentError(
          StrCat("receiver certificate: ", OpenSslError()));
    }
  }
  std::string response =
      options.status == 200 ? "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                            : "HTTP/1.1 204 No Content\r\n\r\n";
  std::vector<int> ports;  // bound by the first loop, shared by the others
  for (int t = 0; t < std::max(1, options.threads); ++t) {
    auto loop = std::make_unique<Loop>();
    loop->index = t;
    loop->ctx = ctx;
    loop->on_request = &receiver->on_request_;
    loop->response = response;
    loop->delay_s = options.delay_s;
    loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    loop->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = &wake_tag;
    epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, loop->wake_fd, &event);
    for (int p = 0; p < std::max(1, options.ports); ++p) {
      int port = p < static_cast<int>(ports.size()) ? ports[p]
                 : p == 0                           ? options.port
                                                    : 0;
      const int fd =
          socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      loop->listen_fds.push_back(fd);
      const int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      address.sin_port = htons(static_cast<uint16_t>(port));
      if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
              0 ||
          listen(fd, 4096) != 0) {
        return absl::UnavailableError(
            StrCat("receiver: cannot listen on 127.0.0.1:", port, ": ",
                   strerror(errno)));
      }
      socklen_t length = sizeof(address);
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
      port = ntohs(address.sin_port);
      if (p == static_cast<int>(ports.size())) ports.push_back(port);
    }
    // Tagged once the vector no longer moves.
    for (int& fd : loop->listen_fds) {
      event.data.ptr = &fd;
      epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &event);
    }
    receiver->loops_.push_back(std::move(loop));
  }
  receiver->ports_ = std::move(ports);
  for (auto& loop : receiver->loops_) {
    receiver->threads_.emplace_back([l = loop.get()] { l->Run(); });
  }
  return receiver;
}

HttpReceiver::~HttpReceiver() {
  for (auto& loop : loops_) {
    loop->stop.store(true);
    const uint64_t one = 1;
    (void)!write(loop->wake_fd, &one, sizeof(one));
  }
  for (std::thread& t : threads_) t.join();
  loops_.clear();
  if (ssl_ctx_ != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
}

std::string HttpReceiver::base_url(int i) const {
  return StrCat(tls_ ? "https" : "http", "://127.0.0.1:", ports_[i]);
}

int64_t HttpReceiver::requests() const {
  int64_t n = 0;
  for (const auto& loop : loops_) n += loop->requests.load(std::memory_order_relaxed);
  return n;
}

int64_t HttpReceiver::connections() const {
  int64_t n = 0;
  for (const auto& loop : loops_) n += loop->connections.load(std::memory_order_relaxed);
  return n;
}

std::vector<int> HttpReceiver::thread_ids() const {
  std::vector<int> ids;
  for (const auto& loop : loops_) ids.push_back(loop->tid.load());
  return ids;
}

int64_t HttpReceiver::errors() const {
  int64_t n = 0;
  for (const auto& loop : loops_) n += loop->errors.load(std::memory_order_relaxed);
  return n;
}

}  // namespace webhooks::bench
