#include "webhooks/client/verify.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"

namespace webhooks::client {
namespace {

absl::string_view AsAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// The HMAC key of a "whsec_<base64>" secret (the prefix is optional).
absl::StatusOr<std::string> SecretKey(std::string_view secret) {
  constexpr std::string_view kPrefix = "whsec_";
  if (secret.substr(0, kPrefix.size()) == kPrefix) {
    secret.remove_prefix(kPrefix.size());
  }
  std::string key;
  if (secret.empty() || !absl::Base64Unescape(AsAbsl(secret), &key) ||
      key.empty()) {
    return absl::InvalidArgumentError(
        "webhook secret is not whsec_ followed by base64");
  }
  return key;
}

// HMAC-SHA256 of "<id>.<timestamp>.<body>".
std::string Mac(const std::string& key, std::string_view id,
                std::string_view timestamp, std::string_view body) {
  std::string message;
  message.reserve(id.size() + timestamp.size() + body.size() + 2);
  message.append(id).append(".").append(timestamp).append(".").append(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
       mac, &length);
  return std::string(reinterpret_cast<const char*>(mac), length);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view Find(const HeaderList& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return {};
}

}  // namespace

absl::Status Verify(std::string_view secret, const SignatureHeaders& headers,
                    std::string_view body, const VerifyOptions& options) {
  if (headers.id.empty() || headers.timestamp.empty() ||
      headers.signature.empty()) {
    return absl::InvalidArgumentError(
        "missing webhook-id, webhook-timestamp or webhook-signature header");
  }
  int64_t seconds = 0;
  const char* first = headers.timestamp.data();
  const char* last = first + headers.timestamp.size();
  if (auto [end, error] = std::from_chars(first, last, seconds);
      error != std::errc() || end != last) {
    return absl::InvalidArgumentError(
        "webhook-timestamp is not a Unix time in seconds");
  }
  const absl::Time now =
      options.now == absl::InfinitePast() ? absl::Now() : options.now;
  const absl::Time sent = absl::FromUnixSeconds(seconds);
  if (now - sent > options.tolerance) {
    return absl::OutOfRangeError("webhook-timestamp is too old");
  }
  if (sent - now > options.tolerance) {
    return absl::OutOfRangeError("webhook-timestamp is too far in the future");
  }
  absl::StatusOr<std::string> key = SecretKey(secret);
  if (!key.ok()) return key.status();
  const std::string want = Mac(*key, headers.id, headers.timestamp, body);

  std::string_view entries = headers.signature;
  while (!entries.empty()) {
    const size_t space = entries.find_first_of(" \t");
    std::string_view entry = entries.substr(0, space);
    entries = space == std::string_view::npos ? std::string_view()
                                              : entries.substr(space + 1);
    constexpr std::string_view kVersion = "v1,";
    if (entry.substr(0, kVersion.size()) != kVersion) continue;
    std::string got;
    if (!absl::Base64Unescape(AsAbsl(entry.substr(kVersion.size())), &got)) {
      continue;
    }
    if (got.size() == want.size() &&
        CRYPTO_memcmp(got.data(), want.data(), want.size()) == 0) {
      return absl::OkStatus();
    }
  }
  return absl::UnauthenticatedError("no matching webhook signature");
}

absl::Status Verify(std::string_view secret, const HeaderList& headers,
                    std::string_view body, const VerifyOptions& options) {
  return Verify(secret,
                SignatureHeaders{Find(headers, "webhook-id"),
                                 Find(headers, "webhook-timestamp"),
                                 Find(headers, "webhook-signature")},
                body, options);
}

absl::StatusOr<std::string> Sign(std::string_view secret,
                                 std::string_view message_id, int64_t timestamp,
                                 std::string_view body) {
  absl::StatusOr<std::string> key = SecretKey(secret);
  if (!key.ok()) return key.status();
  const std::string mac =
      Mac(*key, message_id, std::to_string(timestamp), body);
  return "v1," + absl::Base64Escape(mac);
}

}  // namespace webhooks::client
