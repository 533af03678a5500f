#include "server/metrics_http_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

#include "absl/strings/numbers.h"
#include "common/strings.h"

namespace webhooks::server {
namespace {

constexpr std::string_view kMetricsContentType =
    "text/plain; version=0.0.4; charset=utf-8";
// Bytes of a request's unread remainder read before closing, so that the
// close does not reset the connection under the response.
constexpr size_t kMaxDrainBytes = 64 << 10;

struct HostPort {
  std::string host;  // empty: every interface
  std::string port;
};

absl::StatusOr<HostPort> ParseAddress(std::string_view address) {
  auto bad = [address](std::string_view why) {
    return absl::InvalidArgumentError(
        StrCat("metrics address \"", address, "\": ", why));
  };
  std::string_view host;
  std::string_view port;
  if (!address.empty() && address[0] == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return bad("expected [ipv6]:port");
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return bad("expected host:port");
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return bad("an IPv6 host must be in brackets");
    }
  }
  int number = 0;
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(),
                   [](char c) { return c >= '0' && c <= '9'; }) ||
      !absl::SimpleAtoi(AsAbsl(port), &number) || number > 65535) {
    return bad("the port must be a number from 0 to 65535");
  }
  return HostPort{std::string(host), std::string(port)};
}

int BoundPort(int fd) {
  sockaddr_storage bound;
  socklen_t length = sizeof(bound);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    return 0;
  }
  if (bound.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
  }
  if (bound.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port);
  }
  return 0;
}

// Where the request head (request line and headers) ends, or npos.
size_t HeadEnd(std::string_view data) {
  const size_t crlf = data.find("\r\n\r\n");
  const size_t lf = data.find("\n\n");
  const size_t a = crlf == std::string_view::npos ? crlf : crlf + 4;
  const size_t b = lf == std::string_view::npos ? lf : lf + 2;
  return std::min(a, b);
}

std::string Response(std::string_view status, std::string_view content_type,
                     std::string_view body, bool with_body,
                     std::string_view extra_headers = "") {
  std::string out =
      StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", content_type,
             "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n",
             extra_headers, "\r\n");
  if (with_body) out.append(body);
  return out;
}

std::string ErrorResponse(std::string_view status,
                          std::string_view extra_headers = "") {
  return Response(status, "text/plain; charset=utf-8", StrCat(status, "\n"),
                  /*with_body=*/true, extra_headers);
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    std::string_view address, const MetricsRegistry* registry,
    const Options& options) {
  absl::StatusOr<HostPort> parsed = ParseAddress(address);
  if (!parsed.ok()) return parsed.status();
  addrinfo hints;
  std::memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int gai =
      getaddrinfo(parsed->host.empty() ? nullptr : parsed->host.c_str(),
                  parsed->port.c_str(), &hints, &found);
  if (gai != 0) {
    return absl::InvalidArgumentError(
        StrCat("metrics address \"", address, "\": ", gai_strerror(gai)));
  }
  int listen_fd = -1;
  int error = 0;
  for (addrinfo* ai = found; ai != nullptr && listen_fd < 0; ai = ai->ai_next) {
    const int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
               ai->ai_protocol);
    if (fd < 0) {
      error = errno;
      continue;
    }
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0) {
      listen_fd = fd;
    } else {
      error = errno;
      close(fd);
    }
  }
  freeaddrinfo(found);
  if (listen_fd < 0) {
    return absl::UnavailableError(
        StrCat("cannot listen on \"", address, "\": ", std::strerror(error)));
  }
  int wake[2];
  if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    error = errno;
    close(listen_fd);
    return absl::UnavailableError(
        StrCat("metrics server: pipe: ", std::strerror(error)));
  }
  return std::unique_ptr<MetricsHttpServer>(new MetricsHttpServer(
      registry, options, listen_fd, wake[0], wake[1], BoundPort(listen_fd)));
}

MetricsHttpServer::MetricsHttpServer(const MetricsRegistry* registry,
                                     const Options& options, int listen_fd,
                                     int wake_read, int wake_write, int port)
    : registry_(registry),
      options_(options),
      listen_fd_(listen_fd),
      wake_read_(wake_read),
      wake_write_(wake_write),
      port_(port),
      thread_([this] { Loop(); }) {}

MetricsHttpServer::~MetricsHttpServer() {
  const char byte = 1;
  const ssize_t written = write(wake_write_, &byte, 1);
  (void)written;  // the pipe is empty until now: it cannot be full
  thread_.join();
  close(listen_fd_);
  close(wake_read_);
  close(wake_write_);
}

void MetricsHttpServer::Loop() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_read_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      // Unexpected; do not spin. The next poll sees a stop request.
      WaitFor(-1, 0, absl::Now() + absl::Milliseconds(100));
      continue;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int client =
        accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (client < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
          errno == ENOMEM) {
        // Out of descriptors or memory: back off rather than spin.
        WaitFor(-1, 0, absl::Now() + absl::Milliseconds(100));
      }
      continue;
    }
    Serve(client);
    close(client);
  }
}

bool MetricsHttpServer::WaitFor(int fd, short events,
                                absl::Time deadline) const {
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    const int64_t ms = std::min<int64_t>(
        absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))),
        INT_MAX);
    pollfd fds[2] = {{wake_read_, POLLIN, 0}, {fd, events, 0}};
    const int n = poll(fds, fd < 0 ? 1 : 2, static_cast<int>(ms));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (fds[0].revents != 0) return false;  // stopping
    if (fd >= 0 && fds[1].revents != 0) return true;
  }
}

void MetricsHttpServer::Serve(int fd) {
  const absl::Time deadline = absl::Now() + options_.io_timeout;
  const size_t limit = options_.max_request_bytes;
  std::string request;
  std::string response;
  char buffer[4096];
  while (response.empty()) {
    const size_t end = HeadEnd(request);
    if (end != std::string::npos && end <= limit) {
      response = Respond(std::string_view(request).substr(0, end));
      break;
    }
    if (request.size() > limit) {
      response = ErrorResponse("431 Request Header Fields Too Large");
      break;
    }
    if (!WaitFor(fd, POLLIN, deadline)) return;
    const size_t want = std::min(sizeof(buffer), limit + 1 - request.size());
    const ssize_t n = recv(fd, buffer, want, 0);
    if (n == 0) return;  // the client gave up
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return;
    }
    request.append(buffer, static_cast<size_t>(n));
  }
  size_t sent = 0;
  while (sent < response.size()) {
    const ssize_t n =
        send(fd, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 &&
               (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      if (!WaitFor(fd, POLLOUT, deadline)) return;
    } else {
      return;
    }
  }
  shutdown(fd, SHUT_WR);
  size_t drained = 0;
  ssize_t n;
  while (drained < kMaxDrainBytes &&
         (n = recv(fd, buffer, sizeof(buffer), 0)) > 0) {
    drained += static_cast<size_t>(n);
  }
}

std::string MetricsHttpServer::Respond(std::string_view head) const {
  std::string_view line = head.substr(0, head.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::vector<std::string_view> parts;
  for (size_t start = 0; start <= line.size();) {
    size_t space = line.find(' ', start);
    if (space == std::string_view::npos) space = line.size();
    parts.push_back(line.substr(start, space - start));
    start = space + 1;
  }
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() ||
      parts[2].substr(0, 7) != "HTTP/1.") {
    return ErrorResponse("400 Bad Request");
  }
  const std::string_view method = parts[0];
  const std::string_view path = parts[1].substr(0, parts[1].find('?'));
  if (path != "/metrics") return ErrorResponse("404 Not Found");
  if (method != "GET" && method != "HEAD") {
    return ErrorResponse("405 Method Not Allowed", "Allow: GET, HEAD\r\n");
  }
  return Response("200 OK", kMetricsContentType, registry_->Render(),
                  /*with_body=*/method == "GET");
}

}  // namespace webhooks::server
