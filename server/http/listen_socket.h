// Binds a TCP listening socket for the HTTP servers.
//
//   ASSIGN_OR_RETURN(ListenSocket socket, BindListenSocket("metrics", ":0"));
//   ... hand socket.fd to the server, which owns it from then on ...
#ifndef WEBHOOKS_SERVER_HTTP_LISTEN_SOCKET_H_
#define WEBHOOKS_SERVER_HTTP_LISTEN_SOCKET_H_

#include <string_view>

#include "absl/status/statusor.h"

namespace webhooks::server {

struct ListenSocket {
  int fd = -1;    // listening, close-on-exec; the caller owns it
  int port = 0;   // the bound port
};

// Binds `address` — host:port, [ipv6]:port, or :port for every interface;
// port 0 picks a free one — and listens. `name` prefixes error messages
// ("metrics address ..."). INVALID_ARGUMENT when the address does not parse
// or resolve; UNAVAILABLE when it cannot be bound.
absl::StatusOr<ListenSocket> BindListenSocket(std::string_view name,
                                              std::string_view address);

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HTTP_LISTEN_SOCKET_H_
