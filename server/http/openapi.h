// An OpenAPI 3 description of the Connect JSON API, built from the service
// descriptors: one POST path per unary method (/<package>.<Service>/<Method>),
// the request and response messages as JSON schemas (proto3 JSON mapping:
// lowerCamelCase names, 64-bit integers as strings, enums by name,
// Timestamp as date-time), the Connect error as the default response, and
// bearer authentication. Server-streaming methods are left out (OpenAPI
// cannot describe Connect's enveloped stream); see README.
//
//   absl::StatusOr<std::string> json = OpenApiJson({"webhooks.v1.SubscriptionService"});
#ifndef WEBHOOKS_SERVER_HTTP_OPENAPI_H_
#define WEBHOOKS_SERVER_HTTP_OPENAPI_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace webhooks::server {

// The description of `services` (full names, in the generated descriptor
// pool), pretty-printed with keys in a stable order. NOT_FOUND names a
// service that is not linked in.
absl::StatusOr<std::string> OpenApiJson(const std::vector<std::string>& services);

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HTTP_OPENAPI_H_
