#include "server/handlers/api_key_handler.h"

#include "common/status_macros.h"
#include "core/errors.h"
#include "server/converters/time_converter.h"

namespace webhooks::server {
namespace {

// Timestamps from 0001 to 9999, as google.protobuf.Timestamp allows.
constexpr int64_t kMinSeconds = -62135596800;
constexpr int64_t kMaxSeconds = 253402300799;

absl::StatusOr<core::ApiKeyDraft> DraftFromApi(const v1::ApiKey& key,
                                               const Caller& caller) {
  core::ApiKeyDraft draft;
  draft.display_name = key.display_name();
  draft.principal = key.principal();
  for (int role : key.roles()) draft.roles.push_back(role);
  draft.created_by = caller.principal;
  if (key.has_expire_time()) {
    const google::protobuf::Timestamp& t = key.expire_time();
    if (t.seconds() < kMinSeconds || t.seconds() > kMaxSeconds ||
        t.nanos() < 0 || t.nanos() > 999999999) {
      return core::error::InvalidField("api_key.expire_time",
                                       "not a valid timestamp");
    }
    draft.expire_time =
        absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
  }
  return draft;
}

v1::ApiKey::State StateToApi(core::ApiKeyState state) {
  switch (state) {
    case core::ApiKeyState::kActive:
      return v1::ApiKey::ACTIVE;
    case core::ApiKeyState::kExpired:
      return v1::ApiKey::EXPIRED;
    case core::ApiKeyState::kRevoked:
      return v1::ApiKey::REVOKED;
  }
  return v1::ApiKey::STATE_UNSPECIFIED;
}

}  // namespace

v1::ApiKey ApiKeyHandler::ToApi(const core::ApiKeyRecord& record) const {
  v1::ApiKey api;
  api.set_id(record.id());
  api.set_display_name(record.display_name());
  api.set_principal(record.principal());
  for (int role : record.roles()) api.add_roles(static_cast<v1::Role>(role));
  SetTimestamp(record.expire_time_micros(), api,
               &v1::ApiKey::mutable_expire_time);
  api.set_prefix(core::ApiKeyRegistry::PrefixOf(record));
  api.set_state(StateToApi(keys_->StateOf(record)));
  SetTimestamp(record.create_time_micros(), api,
               &v1::ApiKey::mutable_create_time);
  SetTimestamp(record.revoke_time_micros(), api,
               &v1::ApiKey::mutable_revoke_time);
  api.set_created_by(record.created_by());
  return api;
}

grpc::ServerUnaryReactor* ApiKeyHandler::CreateApiKey(
    grpc::CallbackServerContext* ctx, const v1::CreateApiKeyRequest* request,
    v1::CreateApiKeyResponse* response) {
  return RunUnary(ctx, deps_, Operation::kManageApiKeys,
                  [=, this](const Caller& caller) -> absl::Status {
                    ASSIGN_OR_RETURN(core::ApiKeyDraft draft,
                                     DraftFromApi(request->api_key(), caller));
                    ASSIGN_OR_RETURN(core::CreatedApiKey created,
                                     keys_->Create(draft));
                    *response->mutable_api_key() = ToApi(created.record);
                    response->set_secret(created.token);
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* ApiKeyHandler::GetApiKey(
    grpc::CallbackServerContext* ctx, const v1::GetApiKeyRequest* request,
    v1::ApiKey* response) {
  return RunUnary(ctx, deps_, Operation::kManageApiKeys,
                  [=, this](const Caller&) -> absl::Status {
                    ASSIGN_OR_RETURN(core::ApiKeyRecord key,
                                     keys_->Get(request->id()));
                    *response = ToApi(key);
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* ApiKeyHandler::ListApiKeys(
    grpc::CallbackServerContext* ctx, const v1::ListApiKeysRequest* request,
    v1::ListApiKeysResponse* response) {
  return RunUnary(
      ctx, deps_, Operation::kManageApiKeys,
      [=, this](const Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(core::ApiKeyPage page,
                         keys_->List(request->principal(), request->page_size(),
                                     request->page_token()));
        for (const core::ApiKeyRecord& key : page.keys) {
          *response->add_api_keys() = ToApi(key);
        }
        response->set_next_page_token(page.next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ApiKeyHandler::RevokeApiKey(
    grpc::CallbackServerContext* ctx, const v1::RevokeApiKeyRequest* request,
    v1::ApiKey* response) {
  return RunUnary(ctx, deps_, Operation::kManageApiKeys,
                  [=, this](const Caller&) -> absl::Status {
                    ASSIGN_OR_RETURN(core::ApiKeyRecord key,
                                     keys_->Revoke(request->id()));
                    *response = ToApi(key);
                    return absl::OkStatus();
                  });
}

}  // namespace webhooks::server
