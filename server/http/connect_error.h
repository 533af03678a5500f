// Errors in the Connect protocol (https://connectrpc.com/docs/protocol):
// the code's name, its HTTP status for unary calls, and the JSON body
// {"code", "message", "details"}. A gRPC status's binary details (a
// serialized google.rpc.Status, as grpc-status-details-bin carries) become
// `details`: [{"type", "value" (base64, unpadded), "debug" (when the type's
// descriptor is linked in)}].
//
//   grpc::Status status = ...;
//   HttpResponse r = HttpResponse::Json(ConnectHttpStatus(status.error_code()),
//                                       ConnectErrorJson(status));
#ifndef WEBHOOKS_SERVER_HTTP_CONNECT_ERROR_H_
#define WEBHOOKS_SERVER_HTTP_CONNECT_ERROR_H_

#include <string>
#include <string_view>

#include "grpcpp/support/status.h"

namespace webhooks::server {

// "invalid_argument", "unauthenticated", ...; "unknown" for OK or an
// unknown number.
std::string_view ConnectCodeName(grpc::StatusCode code);

// The HTTP status of a unary error: 400 for invalid_argument, 401
// unauthenticated, 404 not_found and unimplemented, 429 resource_exhausted...
int ConnectHttpStatus(grpc::StatusCode code);

// The error as Connect's JSON object (one line).
std::string ConnectErrorJson(const grpc::Status& status);

// An error made here (not by a handler) as a grpc::Status.
inline grpc::Status ConnectError(grpc::StatusCode code, std::string message) {
  return grpc::Status(code, std::move(message));
}

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HTTP_CONNECT_ERROR_H_
