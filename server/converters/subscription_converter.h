// Subscriptions between the API (webhooks.v1) and the domain records.
#ifndef WEBHOOKS_SERVER_CONVERTERS_SUBSCRIPTION_CONVERTER_H_
#define WEBHOOKS_SERVER_CONVERTERS_SUBSCRIPTION_CONVERTER_H_

#include "absl/status/statusor.h"
#include "core/delivery_control.h"
#include "core/subscription_registry.h"
#include "webhooks/v1/subscription.pb.h"

namespace webhooks::server {

// The user-settable fields and the id; output-only fields are ignored.
core::SubscriptionRecord SubscriptionFromApi(const v1::Subscription& api);

// Subscription.delivery and back (durations as whole microseconds).
core::DeliveryControlRecord DeliveryFromApi(const v1::DeliveryControl& api);
v1::DeliveryControl DeliveryToApi(const core::DeliveryControlRecord& record);

// Everything the API shows. The secret only with `include_secret`
// (CreateSubscription and RotateSubscriptionSecret).
v1::Subscription SubscriptionToApi(const core::SubscriptionRecord& record,
                                   bool include_secret);

// A stored client certificate as the API shows it (subscriptions and
// dialects): the chain, its subject and expiry, never the key.
v1::ClientCertificate ClientCertificateToApi(const std::string& certificate_pem,
                                             const std::string& key_pem);

// INVALID_ARGUMENT naming active_filter for a value the API does not define.
absl::StatusOr<core::ListQuery> ListQueryFromApi(
    const v1::ListSubscriptionsRequest& request);

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_CONVERTERS_SUBSCRIPTION_CONVERTER_H_
