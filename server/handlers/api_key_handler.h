// webhooks.v1.ApiKeyService over the ApiKeyRegistry. Admin only.
#ifndef WEBHOOKS_SERVER_HANDLERS_API_KEY_HANDLER_H_
#define WEBHOOKS_SERVER_HANDLERS_API_KEY_HANDLER_H_

#include "core/api_key_registry.h"
#include "server/handlers/unary_call.h"
#include "webhooks/v1/api_key.grpc.pb.h"

namespace webhooks::server {

class ApiKeyHandler final : public v1::ApiKeyService::CallbackService {
 public:
  ApiKeyHandler(HandlerDeps deps, core::ApiKeyRegistry* keys)
      : deps_(deps), keys_(keys) {}

  grpc::ServerUnaryReactor* CreateApiKey(
      grpc::CallbackServerContext* ctx, const v1::CreateApiKeyRequest* request,
      v1::CreateApiKeyResponse* response) override;
  grpc::ServerUnaryReactor* GetApiKey(grpc::CallbackServerContext* ctx,
                                      const v1::GetApiKeyRequest* request,
                                      v1::ApiKey* response) override;
  grpc::ServerUnaryReactor* ListApiKeys(
      grpc::CallbackServerContext* ctx, const v1::ListApiKeysRequest* request,
      v1::ListApiKeysResponse* response) override;
  grpc::ServerUnaryReactor* RevokeApiKey(grpc::CallbackServerContext* ctx,
                                         const v1::RevokeApiKeyRequest* request,
                                         v1::ApiKey* response) override;

 private:
  // Never the digest.
  v1::ApiKey ToApi(const core::ApiKeyRecord& record) const;

  const HandlerDeps deps_;
  core::ApiKeyRegistry* const keys_;
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HANDLERS_API_KEY_HANDLER_H_
