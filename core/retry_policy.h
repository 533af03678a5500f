// When to try a failed delivery again: a schedule of delays (default 0 s,
// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — one entry per attempt, the
// first for the first attempt), each with ±20% jitter, and a receiver's
// Retry-After honoured up to a bound. When the schedule is used up the
// delivery has failed.
//
//   RetryPolicy policy(RetryOptions{}, &random);
//   std::optional<absl::Duration> wait = policy.DelayAfterFailure(1, std::nullopt);
#ifndef WEBHOOKS_CORE_RETRY_POLICY_H_
#define WEBHOOKS_CORE_RETRY_POLICY_H_

#include <optional>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/random.h"

namespace webhooks::core {

struct RetryOptions {
  std::vector<absl::Duration> schedule = {
      absl::ZeroDuration(), absl::Seconds(5),  absl::Minutes(5),
      absl::Minutes(30),    absl::Hours(2),    absl::Hours(5),
      absl::Hours(10),      absl::Hours(10)};
  double jitter = 0.2;  // fraction of the delay, either way
  absl::Duration max_retry_after = absl::Hours(24);
};

class RetryPolicy {
 public:
  // `random` must outlive the policy. Thread-safe.
  RetryPolicy(RetryOptions options, RandomSource* random)
      : options_(std::move(options)), random_(random) {}

  // The delay before the next attempt once `attempts_made` attempts (>= 1)
  // have failed; std::nullopt when the schedule allows no more. A
  // Retry-After from the receiver replaces the scheduled delay, capped at
  // max_retry_after.
  std::optional<absl::Duration> DelayAfterFailure(
      int attempts_made, std::optional<absl::Duration> retry_after) const;

  // The same under a subscription's own schedule of retry delays
  // (`retries[i]`: the wait after the (i+1)-th failed attempt); the
  // server's schedule when `retries` is empty.
  std::optional<absl::Duration> DelayAfterFailure(
      int attempts_made, std::optional<absl::Duration> retry_after,
      const std::vector<absl::Duration>& retries) const;

  int max_attempts() const { return static_cast<int>(options_.schedule.size()); }

 private:
  absl::Duration Jittered(absl::Duration base) const;

  const RetryOptions options_;
  RandomSource* const random_;
};

// A Retry-After header value: delay-seconds or an HTTP-date (RFC 9110),
// relative to `now`. std::nullopt when it is neither; a date in the past is
// zero.
std::optional<absl::Duration> ParseRetryAfter(std::string_view value,
                                              absl::Time now);

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_RETRY_POLICY_H_
