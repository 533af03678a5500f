// webhooks.v1.DeliveryService: attempts, deliveries, redelivery, recovery
// and the outcome stream. Subscribers see only their own subscriptions'.
// WatchOutcomes streams are bounded per caller and in all (WatchQuota:
// RESOURCE_EXHAUSTED beyond).
#ifndef WEBHOOKS_SERVER_HANDLERS_DELIVERY_HANDLER_H_
#define WEBHOOKS_SERVER_HANDLERS_DELIVERY_HANDLER_H_

#include "core/attempt_log.h"
#include "core/delivery_dispatcher.h"
#include "core/delivery_queue.h"
#include "core/outcome_bus.h"
#include "core/subscription_registry.h"
#include "server/handlers/unary_call.h"
#include "server/handlers/watch_quota.h"
#include "webhooks/v1/delivery.grpc.pb.h"

namespace webhooks::server {

struct DeliveryHandlerDeps {
  core::SubscriptionRegistry* registry;
  core::DeliveryQueue* queue;
  core::AttemptLog* attempts;
  core::DeliveryDispatcher* dispatcher;
  core::OutcomeBus* outcomes;
};

class DeliveryHandler final : public v1::DeliveryService::CallbackService {
 public:
  DeliveryHandler(HandlerDeps deps, DeliveryHandlerDeps domain)
      : deps_(deps), domain_(domain) {}

  grpc::ServerUnaryReactor* ListAttempts(
      grpc::CallbackServerContext* ctx, const v1::ListAttemptsRequest* request,
      v1::ListAttemptsResponse* response) override;
  grpc::ServerUnaryReactor* GetAttempt(grpc::CallbackServerContext* ctx,
                                       const v1::GetAttemptRequest* request,
                                       v1::DeliveryAttempt* response) override;
  grpc::ServerUnaryReactor* GetDelivery(grpc::CallbackServerContext* ctx,
                                        const v1::GetDeliveryRequest* request,
                                        v1::Delivery* response) override;
  grpc::ServerUnaryReactor* Redeliver(grpc::CallbackServerContext* ctx,
                                      const v1::RedeliverRequest* request,
                                      v1::Delivery* response) override;
  grpc::ServerUnaryReactor* RecoverFailedDeliveries(
      grpc::CallbackServerContext* ctx,
      const v1::RecoverFailedDeliveriesRequest* request,
      v1::RecoverFailedDeliveriesResponse* response) override;
  grpc::ServerWriteReactor<v1::Outcome>* WatchOutcomes(
      grpc::CallbackServerContext* ctx,
      const v1::WatchOutcomesRequest* request) override;

 private:
  // OK when `subscription_id` is well formed and names a subscription the
  // scope sees (one point read); its error otherwise.
  absl::Status CheckSubscription(std::string_view subscription_id,
                                 const core::Scope& scope) const;

  const HandlerDeps deps_;
  const DeliveryHandlerDeps domain_;
  // WatchOutcomes streams open; the server stops before this handler goes.
  WatchQuota quota_;
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HANDLERS_DELIVERY_HANDLER_H_
