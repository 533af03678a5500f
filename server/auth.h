// Who is calling, and what they may do.
//
//   ASSIGN_OR_RETURN(Authenticator auth, Authenticator::FromConfig(config));
//   ASSIGN_OR_RETURN(Caller caller, auth.Authenticate(ctx->client_metadata()));
//   RETURN_IF_ERROR(Authorize(caller, Operation::kWriteSubscriptions));
//   core::Scope scope = ScopeFor(caller);
//
// Callers send `authorization: Bearer <token>`; tokens come from the config
// file, each naming a principal and roles, or are API keys (ApiKeyService,
// core::ApiKeyRegistry), checked after the config's. With no tokens
// configured the server runs in open mode: every caller is an anonymous
// admin (the server then listens on loopback only), except one presenting
// an API key, who is that key's principal with its roles.
#ifndef WEBHOOKS_SERVER_AUTH_H_
#define WEBHOOKS_SERVER_AUTH_H_

#include <map>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/api_key_registry.h"
#include "core/subscription_registry.h"
#include "webhooks/v1/config.pb.h"

namespace webhooks::server {

struct Caller {
  std::string principal;  // empty in open mode
  bool admin = false;
  bool publisher = false;
  bool subscriber = false;
  std::string api_key_id = "";  // set when authenticated by an API key
};

// The groups of operations that roles grant.
enum class Operation {
  kReadSubscriptions,   // Get/List subscriptions (subscriber: own only)
  kWriteSubscriptions,  // Create/Update/Activate/Deactivate/Delete/Rotate
  kReadPrincipal,       // GetPrincipal (subscriber: itself only)
  kWritePrincipals,     // SetPrincipalGroups, DeletePrincipal: admin only
  kReadDialects,        // Get/List dialects: any role
  kWriteDialects,       // Create/Update/Delete dialects: admin only
  kSubmitEvents,        // Prepare/Commit/Abort/Publish/GetTransaction/Match
  kReadDeliveries,      // attempts, deliveries, watch (subscriber: own only)
  kWriteDeliveries,     // redeliver, recover (subscriber: own only)
  kManageApiKeys,       // ApiKeyService: admin only
};

class Authenticator {
 public:
  // INVALID_ARGUMENT naming `tokens[i].<field>` for a token shorter than 16
  // bytes, a duplicate token, an invalid principal, or no roles.
  // `api_keys` (may be null: none) must outlive the authenticator.
  static absl::StatusOr<Authenticator> FromConfig(
      const v1::ServerConfig& config,
      const core::ApiKeyRegistry* api_keys = nullptr);

  // True when no tokens are configured.
  bool open_mode() const { return tokens_.empty(); }

  // UNAUTHENTICATED when the metadata lacks a well-formed bearer token, the
  // token is unknown (the message never echoes the token), or it is an API
  // key that was revoked or has expired (the message names the key's id).
  // In open mode, every caller without an API key is an admin with an empty
  // principal.
  absl::StatusOr<Caller> Authenticate(
      const std::multimap<std::string_view, std::string_view>& metadata) const;

  // For calls that last (streams): OK while `caller`'s credential is still
  // good; the UNAUTHENTICATED of a revoked or expired API key otherwise.
  // Config tokens stay good for the life of the process. No I/O.
  absl::Status StillAuthenticated(const Caller& caller) const;

 private:
  // token -> caller; compared in constant time per candidate.
  std::map<std::string, Caller, std::less<>> tokens_;
  const core::ApiKeyRegistry* api_keys_ = nullptr;
};

// PERMISSION_DENIED naming the operation and the roles that allow it when the
// caller's roles do not.
absl::Status Authorize(const Caller& caller, Operation operation);

// All subscriptions for admins; a subscriber's own otherwise.
core::Scope ScopeFor(const Caller& caller);

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_AUTH_H_
