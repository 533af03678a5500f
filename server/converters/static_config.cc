#include "server/converters/static_config.h"

#include "server/converters/dialect_converter.h"
#include "server/converters/subscription_converter.h"

namespace webhooks::server {

std::vector<core::SubscriptionRecord> StaticSubscriptions(
    const v1::ServerConfig& config) {
  std::vector<core::SubscriptionRecord> records;
  records.reserve(config.subscriptions_size());
  for (const v1::Subscription& api : config.subscriptions()) {
    records.push_back(SubscriptionFromApi(api));
  }
  return records;
}

std::vector<core::DialectRecord> StaticDialects(
    const v1::ServerConfig& config) {
  std::vector<core::DialectRecord> records;
  records.reserve(config.dialects_size());
  for (const v1::Dialect& api : config.dialects()) {
    records.push_back(DialectFromApi(api));
  }
  return records;
}

}  // namespace webhooks::server
