// Randomness, injected: identifiers and secrets come from a RandomSource so
// tests can make them predictable.
//
//   SecureRandom random;
//   std::string bytes = random.Bytes(32);
#ifndef WEBHOOKS_COMMON_RANDOM_H_
#define WEBHOOKS_COMMON_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace webhooks {

// Thread-safe source of random bytes.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Returns `n` random bytes.
  virtual std::string Bytes(size_t n) = 0;
};

// Cryptographically secure bytes from the operating system (getrandom).
class SecureRandom final : public RandomSource {
 public:
  std::string Bytes(size_t n) override;
};

// Deterministic bytes for tests: a counter-based generator from a seed.
class SeededRandom final : public RandomSource {
 public:
  explicit SeededRandom(uint64_t seed) : state_(seed) {}
  std::string Bytes(size_t n) override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Mutex mu_;
  uint64_t state_ ABSL_GUARDED_BY(mu_);
};

// Returns an identifier: `prefix` followed by 26 lowercase base32 characters
// of 16 bytes that begin with the time in milliseconds, so identifiers made
// later sort later (like a ULID).
std::string NewId(std::string_view prefix, int64_t unix_millis,
                  RandomSource& random);

// Like NewId, with `tag` in the 16 bits after the time instead of random
// ones (64 random bits remain): an identifier that carries a small number
// its readers need, such as the queue partition of a delivery.
std::string NewTaggedId(std::string_view prefix, int64_t unix_millis,
                        uint16_t tag, RandomSource& random);

// The 16 bits after the time in `id`: NewTaggedId's tag (random bits in
// NewId's), or nullopt when `id` is not such an identifier.
std::optional<uint16_t> IdTag(std::string_view prefix, std::string_view id);

// The smallest identifier NewId(prefix, t, ...) can return for any t at or
// after `unix_millis`: a scan bound for "created since".
std::string IdTimeFloor(std::string_view prefix, int64_t unix_millis);

// The time NewId(prefix, t, ...) encoded in `id` (t), or nullopt when `id`
// is not such an identifier.
std::optional<int64_t> IdTimeMillis(std::string_view prefix,
                                    std::string_view id);

}  // namespace webhooks

#endif  // WEBHOOKS_COMMON_RANDOM_H_
