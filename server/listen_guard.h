// Why a gRPC listening address cannot be bound: gRPC's ServerBuilder only
// says that it failed. Used to explain a failed start, e.g. a second webhookd
// on a port already in use (webhookd turns gRPC's SO_REUSEPORT off, so that
// two servers never share a port and split its traffic).
//
//   if (server == nullptr) return ListenError(address);
#ifndef WEBHOOKS_SERVER_LISTEN_GUARD_H_
#define WEBHOOKS_SERVER_LISTEN_GUARD_H_

#include <string_view>

#include "absl/status/status.h"

namespace webhooks::server {

// UNAVAILABLE: "cannot listen on "<address>": <reason>", the reason found by
// binding the address once more (e.g. "address already in use: is another
// server running on this port?").
absl::Status ListenError(std::string_view address);

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_LISTEN_GUARD_H_
