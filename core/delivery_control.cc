#include "core/delivery_control.h"

#include <cmath>

#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "core/errors.h"

namespace webhooks::core {
namespace {

absl::Status CheckMillis(std::string_view field, int64_t micros,
                         int max_millis) {
  if (micros == 0) return absl::OkStatus();  // unset
  if (micros < 1000) {
    return error::InvalidField(field, "must be at least 1ms");
  }
  if (micros > int64_t{max_millis} * 1000) {
    return error::InvalidField(
        field, StrCat("must be at most ", max_millis,
                      "ms (the server's limit)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateDeliveryControl(std::string_view field,
                                     const DeliveryControlRecord& c,
                                     const Limits& limits) {
  const std::string base(field);
  if (c.rate_limited()) {
    const double rate = c.rate_per_second();
    if (!std::isfinite(rate) || rate <= 0 || rate > kMaxRatePerSecond) {
      return error::InvalidField(
          StrCat(base, ".rate_limit.per_second"),
          StrCat("must be above 0 and at most ", kMaxRatePerSecond));
    }
    if (c.burst() < 0 || c.burst() > kMaxBurst) {
      return error::InvalidField(StrCat(base, ".rate_limit.burst"),
                                 StrCat("must be 0 (default: the rate) to ",
                                        kMaxBurst));
    }
  } else if (c.rate_per_second() != 0 || c.burst() != 0) {
    return error::InvalidField(StrCat(base, ".rate_limit"), "is not set");
  }
  if (c.max_in_flight() < 0 || c.max_in_flight() > kMaxSubscriptionInFlight) {
    return error::InvalidField(StrCat(base, ".max_in_flight"),
                               StrCat("must be 0 (no cap) to ",
                                      kMaxSubscriptionInFlight));
  }
  RETURN_IF_ERROR(CheckMillis(StrCat(base, ".connect_timeout"),
                              c.connect_timeout_micros(),
                              limits.max_delivery_connect_timeout_ms));
  RETURN_IF_ERROR(CheckMillis(StrCat(base, ".timeout"), c.timeout_micros(),
                              limits.max_delivery_timeout_ms));
  if (c.connect_timeout_micros() != 0 && c.timeout_micros() != 0 &&
      c.connect_timeout_micros() > c.timeout_micros()) {
    return error::InvalidField(StrCat(base, ".connect_timeout"),
                               "must not exceed the total timeout");
  }
  if (c.retry_schedule_micros_size() > limits.max_retry_schedule_entries) {
    return error::InvalidField(
        StrCat(base, ".retry_schedule"),
        StrCat("at most ", limits.max_retry_schedule_entries,
               " entries (the server's limit)"));
  }
  for (int i = 0; i < c.retry_schedule_micros_size(); ++i) {
    const int64_t micros = c.retry_schedule_micros(i);
    if (micros < 0 ||
        micros > int64_t{limits.max_retry_delay_seconds} * 1000000) {
      return error::InvalidField(
          StrCat(base, ".retry_schedule[", i, "]"),
          StrCat("must be 0 to ", limits.max_retry_delay_seconds,
                 "s (the server's limit)"));
    }
  }
  return ValidateOrdering(StrCat(base, ".ordering"), c);
}

absl::Status ValidateOrdering(std::string_view field,
                              const DeliveryControlRecord& c) {
  const std::string& path = c.order_key_path();
  if (path.empty()) return absl::OkStatus();
  const std::string key_path = StrCat(field, ".key_path");
  if (!c.ordered()) {
    return error::InvalidField(key_path, "needs ordering.enabled");
  }
  if (path.size() > kMaxOrderKeyPathBytes) {
    return error::InvalidField(
        key_path, StrCat("at most ", kMaxOrderKeyPathBytes, " bytes"));
  }
  for (absl::string_view segment : absl::StrSplit(AsAbsl(path), '.')) {
    if (segment.empty()) {
      return error::InvalidField(
          key_path, "a path has no empty segments (\"a.b\", not \"a..b\" "
                    "or \".a\")");
    }
  }
  return absl::OkStatus();
}

int EffectiveBurst(const DeliveryControlRecord& c) {
  if (c.burst() > 0) return c.burst();
  return std::max(1, static_cast<int>(std::ceil(c.rate_per_second())));
}

std::vector<absl::Duration> RetrySchedule(const DeliveryControlRecord& c) {
  std::vector<absl::Duration> schedule;
  schedule.reserve(c.retry_schedule_micros_size());
  for (int64_t micros : c.retry_schedule_micros()) {
    schedule.push_back(absl::Microseconds(micros));
  }
  return schedule;
}

}  // namespace webhooks::core
