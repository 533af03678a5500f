// API keys: bearer tokens created, listed and revoked through the API. Every
// key is held in memory (they are few) and written through to storage; the
// token itself is never stored, only HMAC-SHA256 of it under a pepper.
//
//   ASSIGN_OR_RETURN(auto keys, ApiKeyRegistry::Open(store, clock, random, limits));
//   ASSIGN_OR_RETURN(CreatedApiKey created, keys->Create(draft));
//   // created.token is shown to the user once.
//   ASSIGN_OR_RETURN(ApiKeyRecord key, keys->Authenticate(presented));
//
// A token is `whk_` + the 26 characters of its key id after `key_` + `_` +
// 43 characters of base64url (32 bytes from the CSPRNG). The id in it lets
// Authenticate find one record and compare digests in constant time.
//
// The pepper (32 random bytes) is kept in the store's kMeta column, like the
// page-token key: the same for every node sharing the store. Thread-safe.
#ifndef WEBHOOKS_CORE_API_KEY_REGISTRY_H_
#define WEBHOOKS_CORE_API_KEY_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/random.h"
#include "core/limits.h"
#include "storage/store.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::core {

using internal::ApiKeyRecord;

// Values of ApiKeyRecord.roles (webhooks.v1.Role).
enum ApiKeyRole : int { kRoleAdmin = 1, kRolePublisher = 2, kRoleSubscriber = 3 };

inline constexpr std::string_view kApiKeyTokenPrefix = "whk_";
inline constexpr size_t kMaxApiKeyDisplayName = 200;

enum class ApiKeyState { kActive, kExpired, kRevoked };

// What CreateApiKey asks for.
struct ApiKeyDraft {
  std::string display_name;
  std::string principal;
  std::vector<int> roles;
  absl::Time expire_time = absl::InfiniteFuture();  // infinite: never
  std::string created_by;  // the creating admin's principal
};

struct CreatedApiKey {
  ApiKeyRecord record;
  std::string token;  // the whole bearer token; never stored
};

struct ApiKeyPage {
  std::vector<ApiKeyRecord> keys;
  std::string next_page_token;
};

class ApiKeyRegistry {
 public:
  // Loads the pepper (creating it the first time) and every stored key.
  // The pointers must outlive the registry.
  static absl::StatusOr<std::unique_ptr<ApiKeyRegistry>> Open(
      storage::Store* store, const Clock* clock, RandomSource* random,
      const Limits& limits);

  // Validates the draft (INVALID_ARGUMENT naming `api_key.display_name`,
  // `api_key.principal`, `api_key.roles[i]` or `api_key.expire_time`),
  // stores the key and returns it with its token.
  absl::StatusOr<CreatedApiKey> Create(const ApiKeyDraft& draft);

  // NOT_FOUND for an unknown id; INVALID_ARGUMENT naming `id` for one that
  // cannot be a key id.
  absl::StatusOr<ApiKeyRecord> Get(std::string_view id) const;

  // Keys oldest first (ids sort by creation time), only `principal`'s when
  // it is not empty. Fields named "page_size", "page_token", "principal".
  absl::StatusOr<ApiKeyPage> List(std::string_view principal, int page_size,
                                  std::string_view page_token) const;

  // Revokes the key at once (here; other nodes learn of it from the change
  // feed). Idempotent: a revoked key is returned as it is. NOT_FOUND for an
  // unknown id.
  absl::StatusOr<ApiKeyRecord> Revoke(std::string_view id);

  // The key `token` stands for. UNAUTHENTICATED "unknown bearer token" when
  // it is not a key's token (the message never holds the token), and, only
  // for the right token, naming the key when it was revoked or expired.
  // No I/O: cheap enough for the gRPC thread.
  absl::StatusOr<ApiKeyRecord> Authenticate(std::string_view token) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // OK while key `id` (authenticated earlier) is neither revoked nor expired
  // nor gone; otherwise the UNAUTHENTICATED Authenticate would answer now.
  // For long calls (streams) opened with the key. No I/O.
  absl::Status StillValid(std::string_view id) const ABSL_LOCKS_EXCLUDED(mu_);

  // True when `token` has the shape of a key's token.
  static bool LooksLikeApiKey(std::string_view token);

  ApiKeyState StateOf(const ApiKeyRecord& record) const;
  // The non-secret start of the key's token: `whk_` + the id's 26 characters.
  static std::string PrefixOf(const ApiKeyRecord& record);

  // Cluster mode: makes memory match what is stored for one key (after
  // another node changed it; the change feed calls it), or for all.
  absl::Status Refresh(std::string_view id) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Reload() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  ApiKeyRegistry(storage::Store* store, const Clock* clock,
                 RandomSource* random, const Limits& limits, std::string pepper)
      : store_(store),
        clock_(clock),
        random_(random),
        limits_(limits),
        pepper_(std::move(pepper)) {}

  std::string Digest(std::string_view token) const;
  // UNAUTHENTICATED naming the key when it is revoked or expired.
  absl::Status Refusal(const ApiKeyRecord& key) const;
  absl::StatusOr<std::map<std::string, ApiKeyRecord, std::less<>>> LoadAll()
      const;

  // Constant after construction.
  storage::Store* const store_;
  const Clock* const clock_;
  RandomSource* const random_;
  const Limits limits_;
  const std::string pepper_;

  mutable absl::Mutex mu_;
  std::map<std::string, ApiKeyRecord, std::less<>> keys_ ABSL_GUARDED_BY(mu_);
};

using ApiKeyRegistryPtr = std::unique_ptr<ApiKeyRegistry>;

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_API_KEY_REGISTRY_H_
