#include "core/retry_policy.h"

#include <cstdint>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "common/strings.h"

namespace webhooks::core {

std::optional<absl::Duration> RetryPolicy::DelayAfterFailure(
    int attempts_made, std::optional<absl::Duration> retry_after) const {
  if (attempts_made < 1 || attempts_made >= max_attempts()) return std::nullopt;
  if (retry_after.has_value()) {
    return std::clamp(*retry_after, absl::ZeroDuration(),
                      options_.max_retry_after);
  }
  return Jittered(options_.schedule[attempts_made]);
}

std::optional<absl::Duration> RetryPolicy::DelayAfterFailure(
    int attempts_made, std::optional<absl::Duration> retry_after,
    const std::vector<absl::Duration>& retries) const {
  if (retries.empty()) return DelayAfterFailure(attempts_made, retry_after);
  if (attempts_made < 1 || attempts_made > static_cast<int>(retries.size())) {
    return std::nullopt;
  }
  if (retry_after.has_value()) {
    return std::clamp(*retry_after, absl::ZeroDuration(),
                      options_.max_retry_after);
  }
  return Jittered(retries[attempts_made - 1]);
}

absl::Duration RetryPolicy::Jittered(absl::Duration base) const {
  std::string bytes = random_->Bytes(8);
  uint64_t r = 0;
  std::memcpy(&r, bytes.data(), sizeof(r));
  // Uniform in [-jitter, +jitter].
  const double unit = static_cast<double>(r >> 11) / static_cast<double>(1ULL << 53);
  const double factor = 1.0 + options_.jitter * (2.0 * unit - 1.0);
  return base * factor;
}

std::optional<absl::Duration> ParseRetryAfter(std::string_view value,
                                              absl::Time now) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(AsAbsl(value));
  int64_t seconds = 0;
  if (!trimmed.empty() && absl::ascii_isdigit(trimmed[0]) &&
      absl::SimpleAtoi(trimmed, &seconds)) {
    return absl::Seconds(seconds);
  }
  // IMF-fixdate, e.g. "Wed, 21 Oct 2015 07:28:00 GMT".
  absl::Time when;
  std::string error;
  if (absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", std::string(trimmed),
                      absl::UTCTimeZone(), &when, &error)) {
    return std::max(absl::ZeroDuration(), when - now);
  }
  return std::nullopt;
}

}  // namespace webhooks::core
