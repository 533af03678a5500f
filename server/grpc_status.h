// The one conversion from the domain's absl::Status to grpc::Status. The
// codes are the same numbers; messages pass through with control bytes
// (a NUL a caller sent, say, echoed in an error) written as \xNN.
#ifndef WEBHOOKS_SERVER_GRPC_STATUS_H_
#define WEBHOOKS_SERVER_GRPC_STATUS_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace webhooks::server {

// `message` with the bytes 0x00-0x1f and 0x7f written as \xNN.
std::string PrintableMessage(std::string_view message);

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_GRPC_STATUS_H_
