#include "server/http/listen_socket.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "common/strings.h"

namespace webhooks::server {
namespace {

// Connections the kernel queues before they are accepted.
constexpr int kBacklog = 128;

struct HostPort {
  std::string host;  // empty: every interface
  std::string port;
};

absl::StatusOr<HostPort> ParseAddress(std::string_view name,
                                      std::string_view address) {
  auto bad = [name, address](std::string_view why) {
    return absl::InvalidArgumentError(
        StrCat(name, " address \"", address, "\": ", why));
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

}  // namespace

absl::StatusOr<ListenSocket> BindListenSocket(std::string_view name,
                                              std::string_view address) {
  absl::StatusOr<HostPort> parsed = ParseAddress(name, address);
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
        StrCat(name, " address \"", address, "\": ", gai_strerror(gai)));
  }
  int listen_fd = -1;
  int error = 0;
  for (addrinfo* ai = found; ai != nullptr && listen_fd < 0; ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                          ai->ai_protocol);
    if (fd < 0) {
      error = errno;
      continue;
    }
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
        listen(fd, kBacklog) == 0) {
      listen_fd = fd;
    } else {
      error = errno;
      close(fd);
    }
  }
  freeaddrinfo(found);
  if (listen_fd < 0) {
    return absl::UnavailableError(StrCat("cannot listen on \"", address,
                                         "\": ", std::strerror(error)));
  }
  return ListenSocket{listen_fd, BoundPort(listen_fd)};
}

}  // namespace webhooks::server
