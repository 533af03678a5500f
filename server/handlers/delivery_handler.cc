#include "server/handlers/delivery_handler.h"

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace webhooks::server {
namespace {

// A server stream that ends at once with a status.
class FinishedStream final : public grpc::ServerWriteReactor<v1::Outcome> {
 public:
  explicit FinishedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

absl::Status DeliveryHandler::NotYet(grpc::CallbackServerContext* ctx,
                                     Operation operation,
                                     std::string_view method) {
  absl::StatusOr<Caller> caller = AuthorizeCall(deps_, *ctx, operation);
  if (!caller.ok()) return caller.status();
  return absl::UnimplementedError(StrCat(
      "webhooks.v1.DeliveryService/", method, " is not implemented yet"));
}

grpc::ServerUnaryReactor* DeliveryHandler::NotYetUnary(
    grpc::CallbackServerContext* ctx, Operation operation,
    std::string_view method) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(NotYet(ctx, operation, method)));
  return reactor;
}

grpc::ServerUnaryReactor* DeliveryHandler::ListAttempts(
    grpc::CallbackServerContext* ctx, const v1::ListAttemptsRequest*,
    v1::ListAttemptsResponse*) {
  return NotYetUnary(ctx, Operation::kReadDeliveries, "ListAttempts");
}

grpc::ServerUnaryReactor* DeliveryHandler::GetAttempt(
    grpc::CallbackServerContext* ctx, const v1::GetAttemptRequest*,
    v1::DeliveryAttempt*) {
  return NotYetUnary(ctx, Operation::kReadDeliveries, "GetAttempt");
}

grpc::ServerUnaryReactor* DeliveryHandler::GetDelivery(
    grpc::CallbackServerContext* ctx, const v1::GetDeliveryRequest*,
    v1::Delivery*) {
  return NotYetUnary(ctx, Operation::kReadDeliveries, "GetDelivery");
}

grpc::ServerUnaryReactor* DeliveryHandler::Redeliver(
    grpc::CallbackServerContext* ctx, const v1::RedeliverRequest*,
    v1::Delivery*) {
  return NotYetUnary(ctx, Operation::kWriteDeliveries, "Redeliver");
}

grpc::ServerUnaryReactor* DeliveryHandler::RecoverFailedDeliveries(
    grpc::CallbackServerContext* ctx, const v1::RecoverFailedDeliveriesRequest*,
    v1::RecoverFailedDeliveriesResponse*) {
  return NotYetUnary(ctx, Operation::kWriteDeliveries,
                     "RecoverFailedDeliveries");
}

grpc::ServerWriteReactor<v1::Outcome>* DeliveryHandler::WatchOutcomes(
    grpc::CallbackServerContext* ctx, const v1::WatchOutcomesRequest*) {
  return new FinishedStream(
      ToGrpcStatus(NotYet(ctx, Operation::kReadDeliveries, "WatchOutcomes")));
}

}  // namespace webhooks::server
