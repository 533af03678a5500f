// Proto messages <-> JSON for the Connect gateway, by descriptor: a request's
// JSON becomes the bytes the gRPC method parses, a response's bytes become
// JSON. Unknown JSON fields are ignored (as Connect's reference
// implementations do: an older server accepts a newer client's request).
// JSON names are lowerCamelCase on output; both forms are accepted on input.
#ifndef WEBHOOKS_SERVER_HTTP_JSON_CODEC_H_
#define WEBHOOKS_SERVER_HTTP_JSON_CODEC_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"

namespace webhooks::server {

// `json` parsed as `type` (an empty body counts as {}), serialized.
// INVALID_ARGUMENT "request: could not be parsed as <type>: <why>".
absl::StatusOr<std::string> JsonToBinary(
    const google::protobuf::Descriptor* type, std::string_view json);

// `bytes` parsed as `type`, printed as JSON (fields at their default
// omitted). INTERNAL when the bytes do not parse.
absl::StatusOr<std::string> BinaryToJson(
    const google::protobuf::Descriptor* type, std::string_view bytes);

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HTTP_JSON_CODEC_H_
