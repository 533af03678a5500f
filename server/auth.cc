#include "server/auth.h"

#include <cstddef>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "core/errors.h"
#include "core/limits.h"
#include "core/validation.h"

namespace webhooks::server {
namespace {

constexpr size_t kMinTokenLength = 16;
constexpr std::string_view kAuthorizationKey = "authorization";
constexpr std::string_view kBearerScheme = "bearer";

// gRPC ASCII metadata values are printable ASCII; a token must also be free
// of spaces so that it survives `Bearer <token>` intact.
bool IsTokenChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f;
}

// Equal contents, in time that depends only on the two lengths, never on
// where the first difference is.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  const size_t n = a.size() > b.size() ? a.size() : b.size();
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const auto ca = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto cb = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff |= static_cast<unsigned char>(ca ^ cb);
  }
  return diff == 0;
}

absl::Status MissingToken() {
  return absl::UnauthenticatedError(
      "missing bearer token in the authorization metadata");
}

absl::Status MalformedAuthorization(std::string_view problem) {
  return absl::UnauthenticatedError(
      StrCat("malformed authorization metadata: ", problem,
             "; expected \"Bearer <token>\""));
}

// The token of an `authorization` value `Bearer <token>`: scheme matched
// case-insensitively, then one or more spaces, then a non-empty token of
// printable ASCII without spaces. Surrounding whitespace is ignored (HTTP
// OWS). Messages never include the value, which may hold a credential.
absl::StatusOr<std::string_view> ParseBearer(std::string_view value) {
  value = AsStd(absl::StripAsciiWhitespace(AsAbsl(value)));
  if (value.empty()) return MissingToken();
  if (!absl::StartsWithIgnoreCase(AsAbsl(value), AsAbsl(kBearerScheme))) {
    return MalformedAuthorization("the scheme is not Bearer");
  }
  std::string_view rest = value.substr(kBearerScheme.size());
  if (rest.empty()) return MissingToken();
  if (rest.front() != ' ') {
    return MalformedAuthorization("the scheme is not Bearer");
  }
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (rest.empty()) return MissingToken();
  for (char c : rest) {
    if (!IsTokenChar(c)) {
      return MalformedAuthorization(
          "the token contains whitespace or non-printable characters");
    }
  }
  return rest;
}

struct RoleRequirement {
  std::string_view action;  // what the operation does, in words
  std::string_view roles;   // the roles that allow it
};

RoleRequirement RequirementFor(Operation operation) {
  switch (operation) {
    case Operation::kReadSubscriptions:
      return {"reading subscriptions", "the subscriber or admin role"};
    case Operation::kWriteSubscriptions:
      return {"changing subscriptions", "the subscriber or admin role"};
    case Operation::kReadPrincipal:
      return {"reading a principal", "the subscriber or admin role"};
    case Operation::kWritePrincipals:
      return {"changing principals", "the admin role"};
    case Operation::kReadDialects:
      return {"reading dialects", "the publisher, subscriber or admin role"};
    case Operation::kWriteDialects:
      return {"changing dialects", "the admin role"};
    case Operation::kSubmitEvents:
      return {"submitting events", "the publisher or admin role"};
    case Operation::kReadDeliveries:
      return {"reading deliveries", "the subscriber or admin role"};
    case Operation::kWriteDeliveries:
      return {"redelivering or recovering deliveries",
              "the subscriber or admin role"};
    case Operation::kManageApiKeys:
      return {"managing API keys", "the admin role"};
  }
  return {"this operation", "the admin role"};
}

bool Allows(const Caller& caller, Operation operation) {
  if (caller.admin) return true;
  switch (operation) {
    case Operation::kSubmitEvents:
      return caller.publisher;
    case Operation::kReadDialects:
      return caller.publisher || caller.subscriber;
    case Operation::kReadSubscriptions:
    case Operation::kWriteSubscriptions:
    case Operation::kReadPrincipal:
    case Operation::kReadDeliveries:
    case Operation::kWriteDeliveries:
      return caller.subscriber;
    case Operation::kWritePrincipals:
    case Operation::kWriteDialects:
    case Operation::kManageApiKeys:
      return false;
  }
  return false;
}

std::string DescribeRoles(const Caller& caller) {
  std::string roles;
  auto add = [&roles](bool has, std::string_view name) {
    if (!has) return;
    if (!roles.empty()) roles += ", ";
    roles += name;
  };
  add(caller.admin, "admin");
  add(caller.publisher, "publisher");
  add(caller.subscriber, "subscriber");
  return roles.empty() ? "no roles" : StrCat("roles: ", roles);
}

// The caller a configured token stands for; INVALID_ARGUMENT naming
// `tokens[i].<field>`. Never includes the token in a message.
absl::StatusOr<Caller> CallerFromToken(size_t i, const v1::ApiToken& token) {
  const std::string prefix = StrCat("tokens[", i, "]");
  const std::string token_field = StrCat(prefix, ".token");
  if (token.token().empty()) return core::error::RequiredField(token_field);
  if (token.token().size() < kMinTokenLength) {
    return core::error::InvalidField(
        token_field, StrCat("shorter than ", kMinTokenLength, " bytes"));
  }
  for (char c : token.token()) {
    if (!IsTokenChar(c)) {
      return core::error::InvalidField(
          token_field,
          "contains whitespace or a byte outside printable ASCII (0x21-0x7E)");
    }
  }
  RETURN_IF_ERROR(core::ValidatePrincipalId(StrCat(prefix, ".principal"),
                                            token.principal(), core::Limits{}));
  if (token.roles().empty()) {
    return core::error::InvalidField(
        StrCat(prefix, ".roles"),
        "at least one role (ADMIN, PUBLISHER or SUBSCRIBER) is required");
  }
  Caller caller{.principal = token.principal()};
  for (int j = 0; j < token.roles_size(); ++j) {
    switch (token.roles(j)) {
      case v1::ADMIN:
        caller.admin = true;
        break;
      case v1::PUBLISHER:
        caller.publisher = true;
        break;
      case v1::SUBSCRIBER:
        caller.subscriber = true;
        break;
      default:
        return core::error::InvalidField(
            StrCat(prefix, ".roles[", j, "]"),
            StrCat("role ", token.roles(j),
                   " is not one of ADMIN, PUBLISHER, SUBSCRIBER"));
    }
  }
  return caller;
}

// The caller an API key stands for.
Caller CallerFromApiKey(const core::ApiKeyRecord& key) {
  Caller caller{.principal = key.principal(), .api_key_id = key.id()};
  for (int role : key.roles()) {
    caller.admin |= role == core::kRoleAdmin;
    caller.publisher |= role == core::kRolePublisher;
    caller.subscriber |= role == core::kRoleSubscriber;
  }
  return caller;
}

}  // namespace

absl::StatusOr<Authenticator> Authenticator::FromConfig(
    const v1::ServerConfig& config, const core::ApiKeyRegistry* api_keys) {
  Authenticator auth;
  auth.api_keys_ = api_keys;
  // token -> index of its first occurrence, for the duplicate message.
  std::map<std::string_view, size_t> first_index;
  for (int i = 0; i < config.tokens_size(); ++i) {
    const v1::ApiToken& token = config.tokens(i);
    const auto index = static_cast<size_t>(i);
    ASSIGN_OR_RETURN(Caller caller, CallerFromToken(index, token));
    auto [it, inserted] = first_index.emplace(token.token(), index);
    if (!inserted) {
      return core::error::InvalidField(
          StrCat("tokens[", i, "].token"),
          StrCat("duplicates tokens[", it->second,
                 "].token; each token must be unique"));
    }
    auth.tokens_.emplace(token.token(), std::move(caller));
  }
  return auth;
}

absl::StatusOr<Caller> Authenticator::Authenticate(
    const std::multimap<std::string_view, std::string_view>& metadata) const {
  const auto [begin, end] = metadata.equal_range(kAuthorizationKey);
  if (open_mode()) {
    // An API key still counts (a portal key sees only its own); anything
    // else is the anonymous admin.
    if (api_keys_ != nullptr && begin != end && std::next(begin) == end) {
      absl::StatusOr<std::string_view> presented = ParseBearer(begin->second);
      if (presented.ok() && core::ApiKeyRegistry::LooksLikeApiKey(*presented)) {
        ASSIGN_OR_RETURN(core::ApiKeyRecord key,
                         api_keys_->Authenticate(*presented));
        return CallerFromApiKey(key);
      }
    }
    return Caller{.principal = "", .admin = true};
  }
  if (begin == end) return MissingToken();
  if (std::next(begin) != end) {
    return absl::UnauthenticatedError(
        "more than one authorization metadata entry; send exactly one "
        "\"Bearer <token>\"");
  }
  ASSIGN_OR_RETURN(std::string_view presented, ParseBearer(begin->second));
  // Compare with every configured token, without stopping at a match, so the
  // time taken does not tell which token (or which prefix) matched.
  const Caller* found = nullptr;
  for (const auto& [token, caller] : tokens_) {
    if (ConstantTimeEquals(presented, token)) found = &caller;
  }
  if (found != nullptr) return *found;
  if (api_keys_ == nullptr) {
    return absl::UnauthenticatedError("unknown bearer token");
  }
  ASSIGN_OR_RETURN(core::ApiKeyRecord key, api_keys_->Authenticate(presented));
  return CallerFromApiKey(key);
}

absl::Status Authenticator::StillAuthenticated(const Caller& caller) const {
  if (caller.api_key_id.empty() || api_keys_ == nullptr) {
    return absl::OkStatus();
  }
  return api_keys_->StillValid(caller.api_key_id);
}

absl::Status Authorize(const Caller& caller, Operation operation) {
  if (Allows(caller, operation)) return absl::OkStatus();
  const RoleRequirement requirement = RequirementFor(operation);
  return absl::PermissionDeniedError(StrCat(
      requirement.action, " requires ", requirement.roles, "; principal \"",
      caller.principal, "\" has ", DescribeRoles(caller)));
}

core::Scope ScopeFor(const Caller& caller) {
  if (caller.admin) return core::Scope::All();
  return core::Scope::OwnedBy(caller.principal);
}

}  // namespace webhooks::server
