// webhooks.v1.EventService. Declared with the v1 contract; the two-phase
// submission is built in the event-submission work. Until then each RPC
// authenticates and authorizes its caller, then answers UNIMPLEMENTED.
#ifndef WEBHOOKS_SERVER_HANDLERS_EVENT_HANDLER_H_
#define WEBHOOKS_SERVER_HANDLERS_EVENT_HANDLER_H_

#include "server/handlers/unary_call.h"
#include "webhooks/v1/event.grpc.pb.h"

namespace webhooks::server {

class EventHandler final : public v1::EventService::CallbackService {
 public:
  explicit EventHandler(HandlerDeps deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* Prepare(grpc::CallbackServerContext* ctx,
                                    const v1::PrepareRequest* request,
                                    v1::PrepareResponse* response) override;
  grpc::ServerUnaryReactor* Commit(grpc::CallbackServerContext* ctx,
                                   const v1::CommitRequest* request,
                                   v1::CommitResponse* response) override;
  grpc::ServerUnaryReactor* Abort(grpc::CallbackServerContext* ctx,
                                  const v1::AbortRequest* request,
                                  v1::AbortResponse* response) override;
  grpc::ServerUnaryReactor* GetTransaction(
      grpc::CallbackServerContext* ctx,
      const v1::GetTransactionRequest* request,
      v1::Transaction* response) override;
  grpc::ServerUnaryReactor* Publish(grpc::CallbackServerContext* ctx,
                                    const v1::PublishRequest* request,
                                    v1::PublishResponse* response) override;
  grpc::ServerUnaryReactor* MatchSubscriptions(
      grpc::CallbackServerContext* ctx,
      const v1::MatchSubscriptionsRequest* request,
      v1::MatchSubscriptionsResponse* response) override;

 private:
  grpc::ServerUnaryReactor* NotYet(grpc::CallbackServerContext* ctx,
                                   std::string_view method);

  const HandlerDeps deps_;
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HANDLERS_EVENT_HANDLER_H_
