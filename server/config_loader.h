// The server's configuration: a webhooks.v1.ServerConfig in protobuf text
// format, with defaults filled in and converted for the domain.
//
//   ASSIGN_OR_RETURN(v1::ServerConfig config, LoadConfigFile("webhookd.textproto"));
//   core::Limits limits = LimitsFromConfig(config);
#ifndef WEBHOOKS_SERVER_CONFIG_LOADER_H_
#define WEBHOOKS_SERVER_CONFIG_LOADER_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/dialect_catalog.h"
#include "core/limits.h"
#include "core/subscription_registry.h"
#include "webhooks/v1/config.pb.h"

namespace webhooks::server {

inline constexpr std::string_view kDefaultListenAddress = "127.0.0.1:7443";
inline constexpr std::string_view kDefaultDataDir = "./data";

// Reads and parses the file. NOT_FOUND when it does not exist;
// INVALID_ARGUMENT with the parser's line and column when it does not parse.
absl::StatusOr<v1::ServerConfig> LoadConfigFile(const std::string& path);

// Parses text-format config (for tests and LoadConfigFile).
absl::StatusOr<v1::ServerConfig> ParseConfig(std::string_view text);

// Fills listen_address and data_dir defaults, and checks what can be checked
// without the domain: limits non-negative, TLS files set in pairs, and in
// open mode (no tokens) that listen_address is a loopback address
// (127.0.0.0/8, [::1] or localhost) -- FAILED_PRECONDITION otherwise.
absl::Status FinalizeConfig(v1::ServerConfig& config);

// The limits, with config values over the defaults where set (> 0).
core::Limits LimitsFromConfig(const v1::ServerConfig& config);

// True when `address` (host:port) names a loopback host.
bool IsLoopbackAddress(std::string_view address);

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_CONFIG_LOADER_H_
