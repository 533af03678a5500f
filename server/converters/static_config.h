// The config file's static subscriptions and dialects as domain records.
#ifndef WEBHOOKS_SERVER_CONVERTERS_STATIC_CONFIG_H_
#define WEBHOOKS_SERVER_CONVERTERS_STATIC_CONFIG_H_

#include <vector>

#include "core/dialect_catalog.h"
#include "core/subscription_registry.h"
#include "webhooks/v1/config.pb.h"

namespace webhooks::server {

std::vector<core::SubscriptionRecord> StaticSubscriptions(
    const v1::ServerConfig& config);
std::vector<core::DialectRecord> StaticDialects(const v1::ServerConfig& config);

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_CONVERTERS_STATIC_CONFIG_H_
