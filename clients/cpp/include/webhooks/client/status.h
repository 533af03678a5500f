// gRPC statuses as absl::Status, and the request field a refusal names.
//
//   absl::StatusOr<v1::Subscription> sub = client->CreateSubscription(s);
//   if (sub.status().code() == absl::StatusCode::kInvalidArgument) {
//     webhooks::client::FieldError error = GetFieldError(sub.status());
//     // error.field == "subscription.site",
//     // error.message == "must be an absolute path starting with '/'"
//   }
#ifndef WEBHOOKS_CLIENT_STATUS_H_
#define WEBHOOKS_CLIENT_STATUS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace webhooks::client {

// The payload URL under which FromGrpcStatus() keeps a status's binary
// details (a serialized google.rpc.Status), when the server sent any.
inline constexpr char kGrpcStatusDetailsUrl[] =
    "type.googleapis.com/google.rpc.Status";

// The same code and message; error details kept as a payload.
absl::Status FromGrpcStatus(const grpc::Status& status);

// One google.rpc.BadRequest field violation.
struct FieldViolation {
  std::string field;
  std::string description;
};

struct FieldError {
  // The field path the message starts with ("subscription.site",
  // "events[0].acl[2]", "events[0].representations[\"webhook-delivery\"]");
  // else the first violation's field; else empty.
  std::string field;
  // The rest of the message ("must be ..."), or the whole message when no
  // field is named.
  std::string message;
  // google.rpc.BadRequest violations in the status details, if any.
  std::vector<FieldViolation> violations;
};

// Splits `status`'s message into field and rest (the server writes
// "<path>: <problem>" or "<path> is required") and reads BadRequest details.
FieldError GetFieldError(const absl::Status& status);

// The field path `message` starts with, or "" when it names none.
std::string FieldPath(std::string_view message);

}  // namespace webhooks::client

#endif  // WEBHOOKS_CLIENT_STATUS_H_
