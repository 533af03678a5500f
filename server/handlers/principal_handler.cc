#include "server/handlers/principal_handler.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "server/converters/time_converter.h"

namespace webhooks::server {

v1::Principal PrincipalHandler::ToApi(
    const core::PrincipalRecord& record) const {
  v1::Principal api;
  api.set_id(record.id());
  *api.mutable_groups() = record.groups();
  SetTimestamp(record.update_time_micros(), api,
               &v1::Principal::mutable_update_time);
  api.set_subscription_count(
      static_cast<int64_t>(registry_->CountOwnedBy(record.id())));
  return api;
}

grpc::ServerUnaryReactor* PrincipalHandler::SetPrincipalGroups(
    grpc::CallbackServerContext* ctx,
    const v1::SetPrincipalGroupsRequest* request, v1::Principal* response) {
  return RunUnary(
      ctx, deps_, Operation::kWritePrincipals,
      [=, this](const Caller&) -> absl::Status {
        std::vector<std::string> groups(request->groups().begin(),
                                        request->groups().end());
        ASSIGN_OR_RETURN(core::PrincipalRecord record,
                         directory_->SetGroups(request->principal_id(), groups));
        *response = ToApi(record);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PrincipalHandler::GetPrincipal(
    grpc::CallbackServerContext* ctx, const v1::GetPrincipalRequest* request,
    v1::Principal* response) {
  return RunUnary(
      ctx, deps_, Operation::kReadPrincipal,
      [=, this](const Caller& caller) -> absl::Status {
        if (!caller.admin && request->id() != caller.principal) {
          return absl::PermissionDeniedError(StrCat(
              "id: principal \"", caller.principal,
              "\" may only read itself without the admin role"));
        }
        absl::StatusOr<core::PrincipalRecord> record =
            directory_->Get(request->id());
        if (absl::IsNotFound(record.status()) &&
            registry_->CountOwnedBy(request->id()) > 0) {
          // Known through its subscriptions only: no groups.
          core::PrincipalRecord bare;
          bare.set_id(request->id());
          record = bare;
        }
        if (!record.ok()) return record.status();
        *response = ToApi(*record);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PrincipalHandler::DeletePrincipal(
    grpc::CallbackServerContext* ctx, const v1::DeletePrincipalRequest* request,
    v1::DeletePrincipalResponse* response) {
  return RunUnary(ctx, deps_, Operation::kWritePrincipals,
                  [=, this](const Caller&) -> absl::Status {
                    ASSIGN_OR_RETURN(
                        core::PrincipalRemoval removal,
                        registry_->RemovePrincipal(request->id(),
                                                   request->deactivate_only()));
                    response->set_deleted_subscriptions(removal.deleted);
                    response->set_deactivated_subscriptions(removal.deactivated);
                    return absl::OkStatus();
                  });
}

}  // namespace webhooks::server
