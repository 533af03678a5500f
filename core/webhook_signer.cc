#include "core/webhook_signer.h"

// The low-level SHA-256 interface, deprecated in OpenSSL 3 but kept by it:
// its state is a plain struct, so a message starts from the key schedule by
// copying it. EVP_MD_CTX_copy_ex allocates a new provider context at every
// copy, two per signature.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <utility>

#include "core/signing_secret.h"

namespace webhooks::core {
namespace {

constexpr size_t kBlockBytes = 64;  // SHA-256's block
constexpr size_t kDigestBytes = SHA256_DIGEST_LENGTH;
// Base64 of a digest: 4 characters per 3 bytes, rounded up, and a NUL.
constexpr size_t kBase64Bytes = 4 * ((kDigestBytes + 2) / 3) + 1;

bool Update(SHA256_CTX* ctx, std::string_view data) {
  return SHA256_Update(ctx, data.data(), data.size()) == 1;
}

}  // namespace

struct WebhookSigner::Key {
  SHA256_CTX inner;  // SHA-256 after (key XOR ipad)
  SHA256_CTX outer;  // SHA-256 after (key XOR opad)

  ~Key() { OPENSSL_cleanse(this, sizeof(*this)); }
};

WebhookSigner::WebhookSigner(const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    std::optional<std::string> key = SigningKey(secret);
    if (!key.has_value()) {
      status_ = absl::InvalidArgumentError("secret: not a whsec_ signing secret");
      return;
    }
    // RFC 2104: a key longer than a block is hashed first; then it is
    // padded with zeros to a block.
    std::array<unsigned char, kBlockBytes> block{};
    if (key->size() > kBlockBytes) {
      SHA256(reinterpret_cast<const unsigned char*>(key->data()), key->size(),
             block.data());
    } else {
      std::copy(key->begin(), key->end(), block.begin());
    }
    auto state = std::make_unique<Key>();
    std::array<unsigned char, kBlockBytes> pad;
    for (const auto& [ctx, xor_byte] :
         {std::pair{&state->inner, 0x36}, std::pair{&state->outer, 0x5c}}) {
      for (size_t i = 0; i < kBlockBytes; ++i) pad[i] = block[i] ^ xor_byte;
      if (SHA256_Init(ctx) != 1 ||
          SHA256_Update(ctx, pad.data(), pad.size()) != 1) {
        status_ = absl::InternalError("SHA256 of a signing key failed");
        return;
      }
    }
    OPENSSL_cleanse(pad.data(), pad.size());
    OPENSSL_cleanse(block.data(), block.size());
    OPENSSL_cleanse(key->data(), key->size());
    keys_.push_back(std::move(state));
  }
}

WebhookSigner::~WebhookSigner() = default;

absl::StatusOr<std::string> WebhookSigner::Header(std::string_view message_id,
                                                  int64_t timestamp_seconds,
                                                  std::string_view body) const {
  if (!status_.ok()) return status_;
  char digits[24];
  const std::string_view timestamp(
      digits, std::to_chars(digits, digits + sizeof(digits), timestamp_seconds)
                      .ptr -
                  digits);
  std::string header;
  header.reserve(keys_.size() * (3 + kBase64Bytes));
  for (const std::unique_ptr<Key>& key : keys_) {
    std::array<unsigned char, kDigestBytes> inner;
    std::array<unsigned char, kDigestBytes> mac;
    SHA256_CTX work = key->inner;
    bool ok = Update(&work, message_id) && Update(&work, ".") &&
              Update(&work, timestamp) && Update(&work, ".") &&
              Update(&work, body) && SHA256_Final(inner.data(), &work) == 1;
    work = key->outer;
    ok = ok && SHA256_Update(&work, inner.data(), inner.size()) == 1 &&
         SHA256_Final(mac.data(), &work) == 1;
    OPENSSL_cleanse(&work, sizeof(work));
    if (!ok) return absl::InternalError("HMAC-SHA256 failed");
    std::array<unsigned char, kBase64Bytes> base64;
    const int written = EVP_EncodeBlock(base64.data(), mac.data(), mac.size());
    if (!header.empty()) header.push_back(' ');
    header += "v1,";
    header.append(reinterpret_cast<const char*>(base64.data()),
                  static_cast<size_t>(written));
  }
  return header;
}

}  // namespace webhooks::core
