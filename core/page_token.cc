#include "core/page_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/base/thread_annotations.h"
#include "absl/strings/escaping.h"
#include "absl/synchronization/mutex.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "core/errors.h"
#include "core/meta_secret.h"

namespace webhooks::core {
namespace {

constexpr char kVersion = 2;
constexpr size_t kTagBytes = 16;
constexpr size_t kKeyBytes = 32;
constexpr std::string_view kKeyName = "page_token_key";

absl::Mutex key_mu;
std::string& KeyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(key_mu) {
  static std::string* key = [] {
    SecureRandom random;
    return new std::string(random.Bytes(kKeyBytes));
  }();
  return *key;
}

std::string Tag(std::string_view bytes) {
  std::string key;
  {
    absl::MutexLock lock(&key_mu);
    key = KeyLocked();
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), mac,
       &mac_len);
  return std::string(reinterpret_cast<const char*>(mac), kTagBytes);
}

void AppendFnv(uint64_t& hash, std::string_view bytes) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
}

}  // namespace

absl::Status LoadPageTokenKey(storage::Store* store, RandomSource* random) {
  ASSIGN_OR_RETURN(std::string stored,
                   LoadOrCreateMetaSecret(store, random, kKeyName, kKeyBytes));
  absl::MutexLock lock(&key_mu);
  KeyLocked() = std::move(stored);
  return absl::OkStatus();
}

uint64_t RequestFingerprint(const std::vector<std::string_view>& parts) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (std::string_view part : parts) {
    uint64_t n = part.size();
    char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    AppendFnv(hash, std::string_view(len, 8));
    AppendFnv(hash, part);
  }
  return hash;
}

std::string EncodePageToken(uint64_t fingerprint, std::string_view last_key) {
  std::string raw;
  raw.reserve(9 + last_key.size());
  raw.push_back(kVersion);
  for (int i = 7; i >= 0; --i) {
    raw.push_back(static_cast<char>((fingerprint >> (8 * i)) & 0xff));
  }
  raw.append(last_key);
  raw.append(Tag(raw));
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<std::string> DecodePageToken(std::string_view field,
                                            std::string_view token,
                                            uint64_t fingerprint) {
  if (token.empty()) return std::string();
  std::string raw;
  if (token.size() > 4096 || !absl::WebSafeBase64Unescape(AsAbsl(token), &raw) ||
      raw.size() < 9 + kTagBytes || raw[0] != kVersion) {
    return error::BadPageToken(field);
  }
  const std::string_view signed_part =
      std::string_view(raw).substr(0, raw.size() - kTagBytes);
  const std::string expected = Tag(signed_part);
  if (CRYPTO_memcmp(expected.data(), raw.data() + signed_part.size(),
                    kTagBytes) != 0) {
    return error::BadPageToken(field);
  }
  uint64_t got = 0;
  for (int i = 1; i <= 8; ++i) {
    got = (got << 8) | static_cast<unsigned char>(raw[i]);
  }
  if (got != fingerprint) return error::BadPageToken(field);
  return std::string(signed_part.substr(9));
}

}  // namespace webhooks::core
