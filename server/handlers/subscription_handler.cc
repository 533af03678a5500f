#include "server/handlers/subscription_handler.h"

#include <string>
#include <vector>

#include "common/status_macros.h"
#include "server/converters/subscription_converter.h"

namespace webhooks::server {
namespace {

std::vector<std::string> MaskPaths(const google::protobuf::FieldMask& mask) {
  return {mask.paths().begin(), mask.paths().end()};
}

}  // namespace

grpc::ServerUnaryReactor* SubscriptionHandler::CreateSubscription(
    grpc::CallbackServerContext* ctx,
    const v1::CreateSubscriptionRequest* request, v1::Subscription* response) {
  return RunUnary(ctx, deps_, Operation::kWriteSubscriptions,
                  [=, this](const Caller& caller) -> absl::Status {
                    ASSIGN_OR_RETURN(
                        core::SubscriptionRecord created,
                        registry_->Create(
                            SubscriptionFromApi(request->subscription()),
                            ScopeFor(caller)));
                    *response = SubscriptionToApi(created, true);
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* SubscriptionHandler::GetSubscription(
    grpc::CallbackServerContext* ctx, const v1::GetSubscriptionRequest* request,
    v1::Subscription* response) {
  return RunUnary(ctx, deps_, Operation::kReadSubscriptions,
                  [=, this](const Caller& caller) -> absl::Status {
                    ASSIGN_OR_RETURN(
                        core::SubscriptionRecord found,
                        registry_->Get(request->id(), ScopeFor(caller)));
                    *response = SubscriptionToApi(found, false);
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* SubscriptionHandler::ListSubscriptions(
    grpc::CallbackServerContext* ctx,
    const v1::ListSubscriptionsRequest* request,
    v1::ListSubscriptionsResponse* response) {
  return RunUnary(
      ctx, deps_, Operation::kReadSubscriptions,
      [=, this](const Caller& caller) -> absl::Status {
        ASSIGN_OR_RETURN(core::ListQuery query, ListQueryFromApi(*request));
        ASSIGN_OR_RETURN(core::SubscriptionPage page,
                         registry_->List(query, ScopeFor(caller)));
        for (const core::SubscriptionRecord& record : page.subscriptions) {
          *response->add_subscriptions() = SubscriptionToApi(record, false);
        }
        response->set_next_page_token(page.next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* SubscriptionHandler::UpdateSubscription(
    grpc::CallbackServerContext* ctx,
    const v1::UpdateSubscriptionRequest* request, v1::Subscription* response) {
  return RunUnary(ctx, deps_, Operation::kWriteSubscriptions,
                  [=, this](const Caller& caller) -> absl::Status {
                    ASSIGN_OR_RETURN(
                        core::SubscriptionRecord updated,
                        registry_->Update(
                            SubscriptionFromApi(request->subscription()),
                            MaskPaths(request->update_mask()),
                            ScopeFor(caller)));
                    *response = SubscriptionToApi(updated, false);
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* SubscriptionHandler::ActivateSubscription(
    grpc::CallbackServerContext* ctx,
    const v1::ActivateSubscriptionRequest* request,
    v1::Subscription* response) {
  return RunUnary(ctx, deps_, Operation::kWriteSubscriptions,
                  [=, this](const Caller& caller) -> absl::Status {
                    ASSIGN_OR_RETURN(core::SubscriptionRecord updated,
                                     registry_->SetActive(request->id(), true,
                                                          "", ScopeFor(caller)));
                    *response = SubscriptionToApi(updated, false);
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* SubscriptionHandler::DeactivateSubscription(
    grpc::CallbackServerContext* ctx,
    const v1::DeactivateSubscriptionRequest* request,
    v1::Subscription* response) {
  return RunUnary(
      ctx, deps_, Operation::kWriteSubscriptions,
      [=, this](const Caller& caller) -> absl::Status {
        ASSIGN_OR_RETURN(core::SubscriptionRecord updated,
                         registry_->SetActive(request->id(), false,
                                              request->status_message(),
                                              ScopeFor(caller)));
        *response = SubscriptionToApi(updated, false);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* SubscriptionHandler::DeleteSubscription(
    grpc::CallbackServerContext* ctx,
    const v1::DeleteSubscriptionRequest* request,
    google::protobuf::Empty* /*response*/) {
  return RunUnary(ctx, deps_, Operation::kWriteSubscriptions,
                  [=, this](const Caller& caller) -> absl::Status {
                    return registry_->Delete(request->id(), ScopeFor(caller));
                  });
}

grpc::ServerUnaryReactor* SubscriptionHandler::RotateSubscriptionSecret(
    grpc::CallbackServerContext* ctx,
    const v1::RotateSubscriptionSecretRequest* request,
    v1::Subscription* response) {
  return RunUnary(ctx, deps_, Operation::kWriteSubscriptions,
                  [=, this](const Caller& caller) -> absl::Status {
                    ASSIGN_OR_RETURN(
                        core::SubscriptionRecord rotated,
                        registry_->RotateSecret(request->id(), ScopeFor(caller)));
                    *response = SubscriptionToApi(rotated, true);
                    return absl::OkStatus();
                  });
}

}  // namespace webhooks::server
