// The one conversion from the domain's absl::Status to grpc::Status. The
// codes are the same numbers; messages pass through unchanged.
#ifndef WEBHOOKS_SERVER_GRPC_STATUS_H_
#define WEBHOOKS_SERVER_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace webhooks::server {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_GRPC_STATUS_H_
