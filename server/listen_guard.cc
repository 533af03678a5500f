#include "server/listen_guard.h"

#include <errno.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace webhooks::server {
namespace {

// host and port of "host:port", "[v6]:port" or ":port".
bool SplitHostPort(std::string_view address, std::string* host,
                   std::string* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view h = address.substr(0, colon);
  if (!h.empty() && h.front() == '[') {
    if (h.size() < 2 || h.back() != ']') return false;
    h = h.substr(1, h.size() - 2);
  }
  *host = std::string(h);
  *port = std::string(address.substr(colon + 1));
  return !port->empty();
}

// Binds the address as gRPC would (SO_REUSEADDR, no SO_REUSEPORT); "" when it
// can, else why not.
std::string BindProblem(std::string_view address) {
  std::string host, port;
  if (!SplitHostPort(address, &host, &port)) return "not host:port";
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const int resolved = ::getaddrinfo(host.empty() ? nullptr : host.c_str(),
                                     port.c_str(), &hints, &found);
  if (resolved != 0) {
    return absl::StrCat("cannot resolve: ", gai_strerror(resolved));
  }
  std::string problem;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                            ai->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    const bool bound = ::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0;
    const int error = errno;
    ::close(fd);
    if (bound) continue;
    problem = error == EADDRINUSE
                  ? "address already in use: is another server running on "
                    "this port?"
                  : absl::StrCat("bind: ", strerror(error));
    break;
  }
  ::freeaddrinfo(found);
  return problem;
}

}  // namespace

absl::Status ListenError(std::string_view address) {
  std::string problem = BindProblem(address);
  if (problem.empty()) problem = "gRPC could not bind it";
  return absl::UnavailableError(
      StrCat("cannot listen on \"", address, "\": ", problem));
}

}  // namespace webhooks::server
