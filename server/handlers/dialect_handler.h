// webhooks.v1.DialectService over the DialectCatalog (deletion through the
// SubscriptionRegistry, which knows whether a dialect is in use).
#ifndef WEBHOOKS_SERVER_HANDLERS_DIALECT_HANDLER_H_
#define WEBHOOKS_SERVER_HANDLERS_DIALECT_HANDLER_H_

#include "core/dialect_catalog.h"
#include "core/subscription_registry.h"
#include "server/handlers/unary_call.h"
#include "webhooks/v1/dialect.grpc.pb.h"

namespace webhooks::server {

class DialectHandler final : public v1::DialectService::CallbackService {
 public:
  DialectHandler(HandlerDeps deps, core::DialectCatalog* catalog,
                 core::SubscriptionRegistry* registry)
      : deps_(deps), catalog_(catalog), registry_(registry) {}

  grpc::ServerUnaryReactor* CreateDialect(
      grpc::CallbackServerContext* ctx, const v1::CreateDialectRequest* request,
      v1::Dialect* response) override;
  grpc::ServerUnaryReactor* GetDialect(grpc::CallbackServerContext* ctx,
                                       const v1::GetDialectRequest* request,
                                       v1::Dialect* response) override;
  grpc::ServerUnaryReactor* ListDialects(
      grpc::CallbackServerContext* ctx, const v1::ListDialectsRequest* request,
      v1::ListDialectsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateDialect(
      grpc::CallbackServerContext* ctx, const v1::UpdateDialectRequest* request,
      v1::Dialect* response) override;
  grpc::ServerUnaryReactor* DeleteDialect(
      grpc::CallbackServerContext* ctx, const v1::DeleteDialectRequest* request,
      google::protobuf::Empty* response) override;

 private:
  const HandlerDeps deps_;
  core::DialectCatalog* const catalog_;
  core::SubscriptionRegistry* const registry_;
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HANDLERS_DIALECT_HANDLER_H_
