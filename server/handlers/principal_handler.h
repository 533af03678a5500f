// webhooks.v1.PrincipalService over the PrincipalDirectory and the
// SubscriptionRegistry (which removes a deleted principal's subscriptions).
#ifndef WEBHOOKS_SERVER_HANDLERS_PRINCIPAL_HANDLER_H_
#define WEBHOOKS_SERVER_HANDLERS_PRINCIPAL_HANDLER_H_

#include "core/principal_directory.h"
#include "core/subscription_registry.h"
#include "server/handlers/unary_call.h"
#include "webhooks/v1/principal.grpc.pb.h"

namespace webhooks::server {

class PrincipalHandler final : public v1::PrincipalService::CallbackService {
 public:
  PrincipalHandler(HandlerDeps deps, core::PrincipalDirectory* directory,
                   core::SubscriptionRegistry* registry)
      : deps_(deps), directory_(directory), registry_(registry) {}

  grpc::ServerUnaryReactor* SetPrincipalGroups(
      grpc::CallbackServerContext* ctx,
      const v1::SetPrincipalGroupsRequest* request,
      v1::Principal* response) override;
  grpc::ServerUnaryReactor* GetPrincipal(
      grpc::CallbackServerContext* ctx, const v1::GetPrincipalRequest* request,
      v1::Principal* response) override;
  grpc::ServerUnaryReactor* DeletePrincipal(
      grpc::CallbackServerContext* ctx,
      const v1::DeletePrincipalRequest* request,
      v1::DeletePrincipalResponse* response) override;

 private:
  v1::Principal ToApi(const core::PrincipalRecord& record) const;

  const HandlerDeps deps_;
  core::PrincipalDirectory* const directory_;
  core::SubscriptionRegistry* const registry_;
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HANDLERS_PRINCIPAL_HANDLER_H_
