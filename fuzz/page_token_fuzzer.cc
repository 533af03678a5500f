// Page tokens as a caller sends them back. Decoding never fails with
// anything but INVALID_ARGUMENT, and a token we issued decodes to the key it
// carries, for that fingerprint only. The signing key comes from a seeded
// source, so a crash reproduces.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "common/random.h"
#include "core/page_token.h"
#include "fuzz/fuzz_check.h"
#include "storage/memory_store.h"

namespace core = webhooks::core;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  static webhooks::storage::MemoryStore store;
  static webhooks::SeededRandom random(7);
  FUZZ_CHECK(core::LoadPageTokenKey(&store, &random).ok());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint64_t fingerprint = 0;
  if (size >= sizeof(fingerprint)) {
    std::memcpy(&fingerprint, data, sizeof(fingerprint));
    data += sizeof(fingerprint);
    size -= sizeof(fingerprint);
  }
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<std::string> decoded =
      core::DecodePageToken("page_token", input, fingerprint);
  FUZZ_CHECK(decoded.ok() ||
             decoded.status().code() == absl::StatusCode::kInvalidArgument);
  if (input.empty()) FUZZ_CHECK(decoded.ok() && decoded->empty());

  // The input as a last key: its token round-trips.
  const std::string token = core::EncodePageToken(fingerprint, input);
  absl::StatusOr<std::string> back =
      core::DecodePageToken("page_token", token, fingerprint);
  FUZZ_CHECK(back.ok() && *back == input);
  absl::StatusOr<std::string> other =
      core::DecodePageToken("page_token", token, fingerprint ^ 1);
  FUZZ_CHECK(!other.ok() &&
             other.status().code() == absl::StatusCode::kInvalidArgument);
  // One byte changed: refused (or, changed to an equal base64 digit, the same).
  if (!token.empty()) {
    std::string tampered = token;
    tampered[input.size() % tampered.size()] ^= 0x01;
    absl::StatusOr<std::string> t =
        core::DecodePageToken("page_token", tampered, fingerprint);
    FUZZ_CHECK(!t.ok() || *t == input);
  }
  return 0;
}
