#include "core/webhook_signer.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <utility>

#include "absl/strings/escaping.h"
#include "core/signing_secret.h"

namespace webhooks::core {
namespace {

constexpr size_t kBlockBytes = 64;  // SHA-256's block
constexpr size_t kDigestBytes = 32;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// SHA-256 fetched once for the process: EVP_sha256() would be looked up by
// name at every DigestInit.
const EVP_MD* Sha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

bool Update(EVP_MD_CTX* ctx, std::string_view data) {
  return EVP_DigestUpdate(ctx, data.data(), data.size()) == 1;
}

}  // namespace

struct WebhookSigner::Key {
  MdCtx inner;  // SHA-256 after (key XOR ipad)
  MdCtx outer;  // SHA-256 after (key XOR opad)
};

WebhookSigner::WebhookSigner(const std::vector<std::string>& secrets) {
  const EVP_MD* md = Sha256();
  if (md == nullptr) {
    status_ = absl::InternalError("OpenSSL has no SHA256");
    return;
  }
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
      unsigned int length = 0;
      if (EVP_Digest(key->data(), key->size(), block.data(), &length, md,
                     nullptr) != 1) {
        status_ = absl::InternalError("SHA256 of a long signing key failed");
        return;
      }
    } else {
      std::copy(key->begin(), key->end(), block.begin());
    }
    auto state = std::make_unique<Key>();
    std::array<unsigned char, kBlockBytes> pad;
    for (const auto& [ctx, xor_byte] :
         {std::pair{&state->inner, 0x36}, std::pair{&state->outer, 0x5c}}) {
      for (size_t i = 0; i < kBlockBytes; ++i) pad[i] = block[i] ^ xor_byte;
      ctx->reset(EVP_MD_CTX_new());
      if (*ctx == nullptr || EVP_DigestInit_ex(ctx->get(), md, nullptr) != 1 ||
          EVP_DigestUpdate(ctx->get(), pad.data(), pad.size()) != 1) {
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
  MdCtx work(EVP_MD_CTX_new());
  if (work == nullptr) return absl::InternalError("EVP_MD_CTX_new failed");
  std::string header;
  for (const std::unique_ptr<Key>& key : keys_) {
    std::array<unsigned char, kDigestBytes> inner;
    std::array<unsigned char, kDigestBytes> mac;
    unsigned int length = 0;
    const bool ok =
        EVP_MD_CTX_copy_ex(work.get(), key->inner.get()) == 1 &&
        Update(work.get(), message_id) && Update(work.get(), ".") &&
        Update(work.get(), timestamp) && Update(work.get(), ".") &&
        Update(work.get(), body) &&
        EVP_DigestFinal_ex(work.get(), inner.data(), &length) == 1 &&
        EVP_MD_CTX_copy_ex(work.get(), key->outer.get()) == 1 &&
        EVP_DigestUpdate(work.get(), inner.data(), inner.size()) == 1 &&
        EVP_DigestFinal_ex(work.get(), mac.data(), &length) == 1;
    if (!ok) return absl::InternalError("HMAC-SHA256 failed");
    if (!header.empty()) header.push_back(' ');
    header += "v1,";
    header += absl::Base64Escape(absl::string_view(
        reinterpret_cast<const char*>(mac.data()), mac.size()));
  }
  return header;
}

}  // namespace webhooks::core
