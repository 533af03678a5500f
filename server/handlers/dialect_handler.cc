#include "server/handlers/dialect_handler.h"

#include <string>
#include <vector>

#include "common/status_macros.h"
#include "core/validation.h"
#include "server/converters/dialect_converter.h"

namespace webhooks::server {

grpc::ServerUnaryReactor* DialectHandler::CreateDialect(
    grpc::CallbackServerContext* ctx, const v1::CreateDialectRequest* request,
    v1::Dialect* response) {
  return RunUnary(ctx, deps_, Operation::kWriteDialects,
                  [=, this](const Caller&) -> absl::Status {
                    ASSIGN_OR_RETURN(
                        core::DialectRecord created,
                        catalog_->Create(DialectFromApi(request->dialect())));
                    *response = DialectToApi(created);
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* DialectHandler::GetDialect(
    grpc::CallbackServerContext* ctx, const v1::GetDialectRequest* request,
    v1::Dialect* response) {
  return RunUnary(ctx, deps_, Operation::kReadDialects,
                  [=, this](const Caller&) -> absl::Status {
                    RETURN_IF_ERROR(
                        core::ValidateDialectName("name", request->name()));
                    ASSIGN_OR_RETURN(core::DialectRecord found,
                                     catalog_->Get(request->name()));
                    *response = DialectToApi(found);
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* DialectHandler::ListDialects(
    grpc::CallbackServerContext* ctx, const v1::ListDialectsRequest* request,
    v1::ListDialectsResponse* response) {
  return RunUnary(
      ctx, deps_, Operation::kReadDialects,
      [=, this](const Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(
            core::DialectPage page,
            catalog_->List(request->page_size(), request->page_token()));
        for (const core::DialectRecord& record : page.dialects) {
          *response->add_dialects() = DialectToApi(record);
        }
        response->set_next_page_token(page.next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DialectHandler::UpdateDialect(
    grpc::CallbackServerContext* ctx, const v1::UpdateDialectRequest* request,
    v1::Dialect* response) {
  return RunUnary(
      ctx, deps_, Operation::kWriteDialects,
      [=, this](const Caller&) -> absl::Status {
        std::vector<std::string> paths(request->update_mask().paths().begin(),
                                       request->update_mask().paths().end());
        ASSIGN_OR_RETURN(
            core::DialectRecord updated,
            catalog_->Update(DialectFromApi(request->dialect()), paths));
        *response = DialectToApi(updated);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DialectHandler::DeleteDialect(
    grpc::CallbackServerContext* ctx, const v1::DeleteDialectRequest* request,
    google::protobuf::Empty* /*response*/) {
  return RunUnary(ctx, deps_, Operation::kWriteDialects,
                  [=, this](const Caller&) -> absl::Status {
                    return registry_->DeleteDialect(request->name());
                  });
}

}  // namespace webhooks::server
