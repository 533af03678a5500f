#include "core/page_token.h"

#include "absl/strings/escaping.h"
#include "common/strings.h"
#include "core/errors.h"

namespace webhooks::core {
namespace {

constexpr char kVersion = 1;

void AppendFnv(uint64_t& hash, std::string_view bytes) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
}

}  // namespace

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
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<std::string> DecodePageToken(std::string_view field,
                                            std::string_view token,
                                            uint64_t fingerprint) {
  if (token.empty()) return std::string();
  std::string raw;
  if (token.size() > 4096 || !absl::WebSafeBase64Unescape(AsAbsl(token), &raw) ||
      raw.size() < 10 || raw[0] != kVersion) {
    return error::BadPageToken(field);
  }
  uint64_t got = 0;
  for (int i = 1; i <= 8; ++i) {
    got = (got << 8) | static_cast<unsigned char>(raw[i]);
  }
  if (got != fingerprint) return error::BadPageToken(field);
  return raw.substr(9);
}

}  // namespace webhooks::core
