#include "core/api_key_registry.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/escaping.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "core/errors.h"
#include "core/meta_secret.h"
#include "core/page_token.h"
#include "core/validation.h"

namespace webhooks::core {
namespace {

constexpr std::string_view kIdPrefix = "key_";
constexpr size_t kIdBodyLength = 26;
constexpr size_t kSecretBytes = 32;
constexpr size_t kSecretChars = 43;  // unpadded base64url of 32 bytes
constexpr size_t kTokenLength =
    4 + kIdBodyLength + 1 + kSecretChars;  // whk_ body _ secret
constexpr std::string_view kPepperName = "api_key_pepper";
constexpr size_t kPepperBytes = 32;
constexpr int kRevokeAttempts = 5;

bool IsIdChar(char c) {  // NewId's base32 alphabet
  return (c >= '0' && c <= '9') ||
         (c >= 'a' && c <= 'z' && c != 'i' && c != 'l' && c != 'o' && c != 'u');
}

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool IsIdBody(std::string_view body) {
  if (body.size() != kIdBodyLength) return false;
  for (char c : body) {
    if (!IsIdChar(c)) return false;
  }
  return true;
}

absl::Status KeyNotFound(std::string_view id) {
  return absl::NotFoundError(StrCat("API key \"", id, "\" not found"));
}

absl::Status ValidateKeyId(std::string_view field, std::string_view id) {
  if (id.empty()) return error::RequiredField(field);
  if (!id.starts_with(kIdPrefix) || !IsIdBody(id.substr(kIdPrefix.size()))) {
    return error::InvalidField(
        field, "not an API key id (key_ and 26 base32 characters)");
  }
  return absl::OkStatus();
}

absl::StatusOr<ApiKeyRecord> Parse(std::string_view key,
                                   std::string_view bytes) {
  ApiKeyRecord record;
  if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(StrCat("stored API key \"", key, "\" is corrupt"));
  }
  return record;
}

// The roles with duplicates dropped (first kept); INVALID_ARGUMENT naming
// api_key.roles[i] for an unknown one, api_key.roles for none.
absl::StatusOr<std::vector<int>> NormalizeRoles(const std::vector<int>& roles) {
  if (roles.empty()) {
    return error::InvalidField(
        "api_key.roles",
        "at least one role (ADMIN, PUBLISHER or SUBSCRIBER) is required");
  }
  std::vector<int> out;
  for (size_t i = 0; i < roles.size(); ++i) {
    const int role = roles[i];
    if (role != kRoleAdmin && role != kRolePublisher && role != kRoleSubscriber) {
      return error::InvalidField(
          StrCat("api_key.roles[", i, "]"),
          StrCat("role ", role, " is not one of ADMIN, PUBLISHER, SUBSCRIBER"));
    }
    if (std::find(out.begin(), out.end(), role) == out.end()) out.push_back(role);
  }
  return out;
}

absl::Status ValidateDisplayName(std::string_view name) {
  constexpr std::string_view kField = "api_key.display_name";
  if (name.size() > kMaxApiKeyDisplayName) {
    return error::FieldTooLong(kField, kMaxApiKeyDisplayName);
  }
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return error::InvalidField(kField, "contains a control character");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ApiKeyRegistry>> ApiKeyRegistry::Open(
    storage::Store* store, const Clock* clock, RandomSource* random,
    const Limits& limits) {
  ASSIGN_OR_RETURN(std::string pepper, LoadOrCreateMetaSecret(
                                           store, random, kPepperName,
                                           kPepperBytes));
  std::unique_ptr<ApiKeyRegistry> registry(
      new ApiKeyRegistry(store, clock, random, limits, std::move(pepper)));
  RETURN_IF_ERROR(registry->Reload());
  return registry;
}

std::string ApiKeyRegistry::Digest(std::string_view token) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), pepper_.data(), static_cast<int>(pepper_.size()),
       reinterpret_cast<const unsigned char*>(token.data()), token.size(), mac,
       &mac_len);
  return std::string(reinterpret_cast<const char*>(mac), mac_len);
}

bool ApiKeyRegistry::LooksLikeApiKey(std::string_view token) {
  if (token.size() != kTokenLength || !token.starts_with(kApiKeyTokenPrefix)) {
    return false;
  }
  const size_t body_end = kApiKeyTokenPrefix.size() + kIdBodyLength;
  if (!IsIdBody(token.substr(kApiKeyTokenPrefix.size(), kIdBodyLength)) ||
      token[body_end] != '_') {
    return false;
  }
  for (char c : token.substr(body_end + 1)) {
    if (!IsBase64UrlChar(c)) return false;
  }
  return true;
}

std::string ApiKeyRegistry::PrefixOf(const ApiKeyRecord& record) {
  return StrCat(kApiKeyTokenPrefix, record.id().substr(kIdPrefix.size()));
}

ApiKeyState ApiKeyRegistry::StateOf(const ApiKeyRecord& record) const {
  if (record.revoke_time_micros() != 0) return ApiKeyState::kRevoked;
  if (record.expire_time_micros() != 0 &&
      absl::ToUnixMicros(clock_->Now()) >= record.expire_time_micros()) {
    return ApiKeyState::kExpired;
  }
  return ApiKeyState::kActive;
}

absl::StatusOr<CreatedApiKey> ApiKeyRegistry::Create(const ApiKeyDraft& draft) {
  RETURN_IF_ERROR(ValidateDisplayName(draft.display_name));
  RETURN_IF_ERROR(
      ValidatePrincipalId("api_key.principal", draft.principal, limits_));
  ASSIGN_OR_RETURN(std::vector<int> roles, NormalizeRoles(draft.roles));
  const absl::Time now = clock_->Now();
  if (draft.expire_time <= now) {
    return error::InvalidField("api_key.expire_time",
                               "must be in the future");
  }
  CreatedApiKey created;
  ApiKeyRecord& record = created.record;
  record.set_id(NewId(kIdPrefix, absl::ToUnixMillis(now), *random_));
  record.set_display_name(draft.display_name);
  record.set_principal(draft.principal);
  for (int role : roles) record.add_roles(role);
  if (draft.expire_time != absl::InfiniteFuture()) {
    record.set_expire_time_micros(absl::ToUnixMicros(draft.expire_time));
  }
  record.set_create_time_micros(absl::ToUnixMicros(now));
  record.set_created_by(draft.created_by);
  std::string secret;
  absl::WebSafeBase64Escape(random_->Bytes(kSecretBytes), &secret);
  created.token = StrCat(PrefixOf(record), "_", secret);
  record.set_digest(Digest(created.token));

  storage::WriteBatch batch;
  batch.Expect(storage::Column::kApiKeys, record.id(), std::nullopt);
  batch.Put(storage::Column::kApiKeys, record.id(), record.SerializeAsString());
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(store_->Write(batch));
  keys_[record.id()] = record;
  return created;
}

absl::StatusOr<ApiKeyRecord> ApiKeyRegistry::Get(std::string_view id) const {
  RETURN_IF_ERROR(ValidateKeyId("id", id));
  absl::ReaderMutexLock lock(&mu_);
  auto it = keys_.find(id);
  if (it == keys_.end()) return KeyNotFound(id);
  return it->second;
}

absl::StatusOr<ApiKeyPage> ApiKeyRegistry::List(
    std::string_view principal, int page_size,
    std::string_view page_token) const {
  if (!principal.empty()) {
    RETURN_IF_ERROR(ValidatePrincipalId("principal", principal, limits_));
  }
  ASSIGN_OR_RETURN(int size, NormalizePageSize("page_size", page_size, limits_));
  const uint64_t fingerprint = RequestFingerprint({"api_keys", principal});
  ASSIGN_OR_RETURN(std::string after,
                   DecodePageToken("page_token", page_token, fingerprint));
  ApiKeyPage page;
  absl::ReaderMutexLock lock(&mu_);
  auto it = after.empty() ? keys_.begin() : keys_.upper_bound(after);
  for (; it != keys_.end(); ++it) {
    if (!principal.empty() && it->second.principal() != principal) continue;
    if (page.keys.size() == static_cast<size_t>(size)) {
      page.next_page_token = EncodePageToken(fingerprint, page.keys.back().id());
      break;
    }
    page.keys.push_back(it->second);
  }
  return page;
}

absl::StatusOr<ApiKeyRecord> ApiKeyRegistry::Revoke(std::string_view id) {
  RETURN_IF_ERROR(ValidateKeyId("id", id));
  // Read from the store, not memory, and write only if it is still what was
  // read: two nodes revoking at once keep the first revoke_time.
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                     store_->Get(storage::Column::kApiKeys, id));
    if (!bytes.has_value()) return KeyNotFound(id);
    ASSIGN_OR_RETURN(ApiKeyRecord record, Parse(id, *bytes));
    if (record.revoke_time_micros() == 0) {
      record.set_revoke_time_micros(absl::ToUnixMicros(clock_->Now()));
      storage::WriteBatch batch;
      batch.Expect(storage::Column::kApiKeys, id, *bytes);
      batch.Put(storage::Column::kApiKeys, id, record.SerializeAsString());
      absl::Status written = store_->Write(batch);
      if (storage::IsExpectationFailure(written) &&
          attempt + 1 < kRevokeAttempts) {
        continue;
      }
      RETURN_IF_ERROR(written);
    }
    absl::MutexLock lock(&mu_);
    keys_[record.id()] = record;
    return record;
  }
}

absl::StatusOr<ApiKeyRecord> ApiKeyRegistry::Authenticate(
    std::string_view token) const {
  const absl::Status unknown = absl::UnauthenticatedError("unknown bearer token");
  if (!LooksLikeApiKey(token)) return unknown;
  const std::string id = StrCat(
      kIdPrefix, token.substr(kApiKeyTokenPrefix.size(), kIdBodyLength));
  const std::string digest = Digest(token);
  std::optional<ApiKeyRecord> found;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = keys_.find(id);
    if (it != keys_.end()) found = it->second;
  }
  // The id is not secret; the digest comparison is constant-time.
  if (!found.has_value() || found->digest().size() != digest.size() ||
      CRYPTO_memcmp(found->digest().data(), digest.data(), digest.size()) != 0) {
    return unknown;
  }
  RETURN_IF_ERROR(Refusal(*found));
  return *std::move(found);
}

absl::Status ApiKeyRegistry::Refusal(const ApiKeyRecord& key) const {
  switch (StateOf(key)) {
    case ApiKeyState::kRevoked:
      return absl::UnauthenticatedError(
          StrCat("API key ", key.id(), " was revoked"));
    case ApiKeyState::kExpired:
      return absl::UnauthenticatedError(StrCat(
          "API key ", key.id(), " expired at ",
          absl::FormatTime(absl::RFC3339_full,
                           absl::FromUnixMicros(key.expire_time_micros()),
                           absl::UTCTimeZone())));
    case ApiKeyState::kActive:
      break;
  }
  return absl::OkStatus();
}

absl::Status ApiKeyRegistry::StillValid(std::string_view id) const {
  std::optional<ApiKeyRecord> found;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = keys_.find(id);
    if (it != keys_.end()) found = it->second;
  }
  if (!found.has_value()) {
    return absl::UnauthenticatedError(StrCat("API key ", id, " no longer exists"));
  }
  return Refusal(*found);
}

absl::StatusOr<std::map<std::string, ApiKeyRecord, std::less<>>>
ApiKeyRegistry::LoadAll() const {
  std::map<std::string, ApiKeyRecord, std::less<>> stored;
  absl::Status parse_error;
  RETURN_IF_ERROR(store_->Scan(
      storage::Column::kApiKeys, "", "",
      [&](std::string_view key, std::string_view value) {
        absl::StatusOr<ApiKeyRecord> record = Parse(key, value);
        if (!record.ok()) {
          parse_error = record.status();
          return false;
        }
        stored.emplace(std::string(key), *std::move(record));
        return true;
      }));
  RETURN_IF_ERROR(parse_error);
  return stored;
}

absl::Status ApiKeyRegistry::Reload() {
  ASSIGN_OR_RETURN(auto stored, LoadAll());
  absl::MutexLock lock(&mu_);
  keys_ = std::move(stored);
  return absl::OkStatus();
}

absl::Status ApiKeyRegistry::Refresh(std::string_view id) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_->Get(storage::Column::kApiKeys, id));
  if (!bytes.has_value()) {
    absl::MutexLock lock(&mu_);
    if (auto it = keys_.find(id); it != keys_.end()) keys_.erase(it);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(ApiKeyRecord record, Parse(id, *bytes));
  absl::MutexLock lock(&mu_);
  keys_[std::string(id)] = std::move(record);
  return absl::OkStatus();
}

}  // namespace webhooks::core
