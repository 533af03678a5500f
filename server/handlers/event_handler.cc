#include "server/handlers/event_handler.h"

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace webhooks::server {

grpc::ServerUnaryReactor* EventHandler::NotYet(grpc::CallbackServerContext* ctx,
                                               std::string_view method) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<Caller> caller =
      AuthorizeCall(deps_, *ctx, Operation::kSubmitEvents);
  reactor->Finish(ToGrpcStatus(
      caller.ok() ? absl::UnimplementedError(StrCat(
                        "webhooks.v1.EventService/", method,
                        " is not implemented yet"))
                  : caller.status()));
  return reactor;
}

grpc::ServerUnaryReactor* EventHandler::Prepare(
    grpc::CallbackServerContext* ctx, const v1::PrepareRequest*,
    v1::PrepareResponse*) {
  return NotYet(ctx, "Prepare");
}

grpc::ServerUnaryReactor* EventHandler::Commit(grpc::CallbackServerContext* ctx,
                                               const v1::CommitRequest*,
                                               v1::CommitResponse*) {
  return NotYet(ctx, "Commit");
}

grpc::ServerUnaryReactor* EventHandler::Abort(grpc::CallbackServerContext* ctx,
                                              const v1::AbortRequest*,
                                              v1::AbortResponse*) {
  return NotYet(ctx, "Abort");
}

grpc::ServerUnaryReactor* EventHandler::GetTransaction(
    grpc::CallbackServerContext* ctx, const v1::GetTransactionRequest*,
    v1::Transaction*) {
  return NotYet(ctx, "GetTransaction");
}

grpc::ServerUnaryReactor* EventHandler::Publish(
    grpc::CallbackServerContext* ctx, const v1::PublishRequest*,
    v1::PublishResponse*) {
  return NotYet(ctx, "Publish");
}

grpc::ServerUnaryReactor* EventHandler::MatchSubscriptions(
    grpc::CallbackServerContext* ctx, const v1::MatchSubscriptionsRequest*,
    v1::MatchSubscriptionsResponse*) {
  return NotYet(ctx, "MatchSubscriptions");
}

}  // namespace webhooks::server
