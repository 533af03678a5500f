// Field validators shared by every operation. Each returns INVALID_ARGUMENT
// with a message that names `field` (e.g. "subscription.resource_type") and
// says what is wrong.
#ifndef WEBHOOKS_CORE_VALIDATION_H_
#define WEBHOOKS_CORE_VALIDATION_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/limits.h"

namespace webhooks::core {

// A type token `[a-z0-9_.-]+` of at most limits.max_type_length, or `*` when
// `allow_wildcard`. Empty is an error.
absl::Status ValidateTypeToken(std::string_view field, std::string_view value,
                               bool allow_wildcard, const Limits& limits);

// A principal or group id: 1..max_principal_length bytes of printable ASCII
// or UTF-8, no whitespace or control characters.
absl::Status ValidatePrincipalId(std::string_view field,
                                 std::string_view value, const Limits& limits);

// A permission name: a token as ValidateTypeToken (no wildcard), at most
// limits.max_permission_length.
absl::Status ValidatePermission(std::string_view field, std::string_view value,
                                const Limits& limits);

// A dialect name `[a-z0-9_.-]+`, at most 64 characters.
absl::Status ValidateDialectName(std::string_view field,
                                 std::string_view value);

// An HTTP header name (RFC 9110 token) and value (visible ASCII, spaces and
// tabs; no CR/LF), within limits.
absl::Status ValidateHeader(std::string_view field, std::string_view name,
                            std::string_view value, const Limits& limits);

// An identifier we issued (`prefix` + 26 base32 characters) or a static
// subscription id; used to reject garbage ids before any look-up.
// Empty: INVALID_ARGUMENT "<field> is required".
absl::Status ValidateResourceId(std::string_view field, std::string_view id);

// Groups: each a valid principal id, at most limits.max_groups. Returns them
// with duplicates dropped, first occurrence kept.
absl::StatusOr<std::vector<std::string>> NormalizeGroups(
    std::string_view field, const std::vector<std::string>& groups,
    const Limits& limits);

// page_size: negative is INVALID_ARGUMENT; 0 means limits.default_page_size;
// above limits.max_page_size is clamped to it.
absl::StatusOr<int> NormalizePageSize(std::string_view field, int page_size,
                                      const Limits& limits);

// `text` with every byte that does not start a well-formed UTF-8 sequence
// replaced by U+FFFD, for text from outside (a receiver's reason phrase and
// headers) that goes into proto3 `string` fields, which must be UTF-8.
std::string ToValidUtf8(std::string_view text);

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_VALIDATION_H_
