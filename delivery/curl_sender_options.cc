// CurlSenderOptions checks that do not need curl (see curl_sender.h).
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/strings.h"
#include "delivery/address_policy.h"
#include "delivery/curl_sender.h"
#include "delivery/transfer.h"
#include "common/status_macros.h"

namespace webhooks::delivery {

namespace {

constexpr int kMaxThreads = 64;

}  // namespace

int DefaultSenderThreads(int max_in_flight) {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  const int threads = cores < 2 ? 1 : std::clamp(cores / 2, 2, 8);
  return std::max(1, std::min(threads, max_in_flight));
}

absl::Status ValidateCurlSenderOptions(const CurlSenderOptions& options) {
  if (options.max_in_flight < 1) {
    return absl::InvalidArgumentError("max_in_flight: must be at least 1");
  }
  if (options.max_per_destination < 1) {
    return absl::InvalidArgumentError(
        "max_per_destination: must be at least 1");
  }
  if (options.sender_threads < 1 || options.sender_threads > kMaxThreads) {
    return absl::InvalidArgumentError(
        StrCat("sender_threads: must be from 1 to ", kMaxThreads, " (got ",
               options.sender_threads, ")"));
  }
  if (options.sender_threads > options.max_in_flight) {
    return absl::InvalidArgumentError(
        StrCat("sender_threads: must be at most max_in_flight (",
               options.max_in_flight, "), each thread needs a transfer"));
  }
  if (options.max_idle_connections < 0) {
    return absl::InvalidArgumentError(
        "max_idle_connections: must not be negative");
  }
  if (options.connect_timeout < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError("connect_timeout: must be at least 1ms");
  }
  if (options.total_timeout < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError("total_timeout: must be at least 1ms");
  }
  if (!options.ca_bundle.empty() &&
      access(options.ca_bundle.c_str(), R_OK) != 0) {
    return absl::InvalidArgumentError(
        StrCat("ca_bundle: cannot read \"", options.ca_bundle, "\""));
  }
  if (!options.proxy_url.empty()) {
    RETURN_IF_ERROR(CheckProxyUrl("proxy_url", options.proxy_url));
  }
  return AddressPolicy::Create(options.allowed_cidrs).status();
}

}  // namespace webhooks::delivery
