// webhooks.v1.DeliveryService. Declared with the v1 contract; attempts,
// redelivery and the outcome stream are built in the delivery work. Until
// then each RPC authenticates and authorizes its caller, then answers
// UNIMPLEMENTED.
#ifndef WEBHOOKS_SERVER_HANDLERS_DELIVERY_HANDLER_H_
#define WEBHOOKS_SERVER_HANDLERS_DELIVERY_HANDLER_H_

#include "server/handlers/unary_call.h"
#include "webhooks/v1/delivery.grpc.pb.h"

namespace webhooks::server {

class DeliveryHandler final : public v1::DeliveryService::CallbackService {
 public:
  explicit DeliveryHandler(HandlerDeps deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* ListAttempts(
      grpc::CallbackServerContext* ctx, const v1::ListAttemptsRequest* request,
      v1::ListAttemptsResponse* response) override;
  grpc::ServerUnaryReactor* GetAttempt(grpc::CallbackServerContext* ctx,
                                       const v1::GetAttemptRequest* request,
                                       v1::DeliveryAttempt* response) override;
  grpc::ServerUnaryReactor* GetDelivery(grpc::CallbackServerContext* ctx,
                                        const v1::GetDeliveryRequest* request,
                                        v1::Delivery* response) override;
  grpc::ServerUnaryReactor* Redeliver(grpc::CallbackServerContext* ctx,
                                      const v1::RedeliverRequest* request,
                                      v1::Delivery* response) override;
  grpc::ServerUnaryReactor* RecoverFailedDeliveries(
      grpc::CallbackServerContext* ctx,
      const v1::RecoverFailedDeliveriesRequest* request,
      v1::RecoverFailedDeliveriesResponse* response) override;
  grpc::ServerWriteReactor<v1::Outcome>* WatchOutcomes(
      grpc::CallbackServerContext* ctx,
      const v1::WatchOutcomesRequest* request) override;

 private:
  // The status to answer with: the caller's auth failure or UNIMPLEMENTED.
  absl::Status NotYet(grpc::CallbackServerContext* ctx, Operation operation,
                      std::string_view method);
  grpc::ServerUnaryReactor* NotYetUnary(grpc::CallbackServerContext* ctx,
                                        Operation operation,
                                        std::string_view method);

  const HandlerDeps deps_;
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HANDLERS_DELIVERY_HANDLER_H_
