// The config file (protobuf text format), as webhookd reads it at start-up:
// parsed, finalized, its tokens and delivery.allowed_cidrs read, and its
// static dialects and subscriptions synced into an empty store. Each step refuses bad input with a status, never a crash;
// refusals are INVALID_ARGUMENT or FAILED_PRECONDITION (and
// RESOURCE_EXHAUSTED for counts over a limit), never INTERNAL.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include <string>
#include <vector>

#include "delivery/address_policy.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_domain.h"
#include "server/auth.h"
#include "server/config_loader.h"

namespace {

void CheckRefusal(const absl::Status& status) {
  FUZZ_CHECK(status.ok() ||
             status.code() == absl::StatusCode::kInvalidArgument ||
             status.code() == absl::StatusCode::kFailedPrecondition ||
             status.code() == absl::StatusCode::kResourceExhausted ||
             status.code() == absl::StatusCode::kAlreadyExists ||
             status.code() == absl::StatusCode::kNotFound);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<webhooks::v1::ServerConfig> config =
      webhooks::server::ParseConfig(text);
  CheckRefusal(config.status());
  if (!config.ok()) return 0;
  absl::Status finalized = webhooks::server::FinalizeConfig(*config);
  CheckRefusal(finalized);
  if (!finalized.ok()) return 0;
  CheckRefusal(webhooks::server::Authenticator::FromConfig(*config).status());
  const std::vector<std::string> cidrs(config->delivery().allowed_cidrs().begin(),
                                       config->delivery().allowed_cidrs().end());
  CheckRefusal(webhooks::delivery::AddressPolicy::Create(cidrs).status());
  // Huge limits would make the sync below slow, not wrong.
  if (config->subscriptions_size() + config->dialects_size() > 64) return 0;
  CheckRefusal(webhooks::fuzz::FuzzDomain::Open(*config).status());
  return 0;
}
