// webhooks.v1.SubscriptionService over the SubscriptionRegistry.
#ifndef WEBHOOKS_SERVER_HANDLERS_SUBSCRIPTION_HANDLER_H_
#define WEBHOOKS_SERVER_HANDLERS_SUBSCRIPTION_HANDLER_H_

#include "core/subscription_registry.h"
#include "server/handlers/unary_call.h"
#include "webhooks/v1/subscription.grpc.pb.h"

namespace webhooks::server {

class SubscriptionHandler final
    : public v1::SubscriptionService::CallbackService {
 public:
  SubscriptionHandler(HandlerDeps deps, core::SubscriptionRegistry* registry)
      : deps_(deps), registry_(registry) {}

  grpc::ServerUnaryReactor* CreateSubscription(
      grpc::CallbackServerContext* ctx,
      const v1::CreateSubscriptionRequest* request,
      v1::Subscription* response) override;
  grpc::ServerUnaryReactor* GetSubscription(
      grpc::CallbackServerContext* ctx,
      const v1::GetSubscriptionRequest* request,
      v1::Subscription* response) override;
  grpc::ServerUnaryReactor* ListSubscriptions(
      grpc::CallbackServerContext* ctx,
      const v1::ListSubscriptionsRequest* request,
      v1::ListSubscriptionsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateSubscription(
      grpc::CallbackServerContext* ctx,
      const v1::UpdateSubscriptionRequest* request,
      v1::Subscription* response) override;
  grpc::ServerUnaryReactor* ActivateSubscription(
      grpc::CallbackServerContext* ctx,
      const v1::ActivateSubscriptionRequest* request,
      v1::Subscription* response) override;
  grpc::ServerUnaryReactor* DeactivateSubscription(
      grpc::CallbackServerContext* ctx,
      const v1::DeactivateSubscriptionRequest* request,
      v1::Subscription* response) override;
  grpc::ServerUnaryReactor* DeleteSubscription(
      grpc::CallbackServerContext* ctx,
      const v1::DeleteSubscriptionRequest* request,
      google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* RotateSubscriptionSecret(
      grpc::CallbackServerContext* ctx,
      const v1::RotateSubscriptionSecretRequest* request,
      v1::Subscription* response) override;

 private:
  const HandlerDeps deps_;
  core::SubscriptionRegistry* const registry_;
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HANDLERS_SUBSCRIPTION_HANDLER_H_
