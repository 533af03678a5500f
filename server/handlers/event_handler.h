// webhooks.v1.EventService over the TransactionLog and the EventMatcher.
// Publishers and admins only. A transaction belongs to the principal that
// prepared it: a publisher sees and acts on its own only (another's is
// NOT_FOUND), an admin on anyone's by naming its owner.
#ifndef WEBHOOKS_SERVER_HANDLERS_EVENT_HANDLER_H_
#define WEBHOOKS_SERVER_HANDLERS_EVENT_HANDLER_H_

#include <functional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/random.h"
#include "core/event_matcher.h"
#include "core/limits.h"
#include "core/transaction_log.h"
#include "server/handlers/unary_call.h"
#include "webhooks/v1/event.grpc.pb.h"

namespace webhooks::server {

class EventHandler final : public v1::EventService::CallbackService {
 public:
  // The pointers must outlive the handler.
  // `committed` runs after each commit that created deliveries.
  EventHandler(HandlerDeps deps, core::TransactionLog* log,
               const core::EventMatcher* matcher, const core::Limits& limits,
               const Clock* clock, RandomSource* random,
               std::function<void()> committed)
      : deps_(deps),
        log_(log),
        matcher_(matcher),
        limits_(limits),
        clock_(clock),
        random_(random),
        committed_(std::move(committed)) {}

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
  // The owner whose transaction a call names (`requested`, default the
  // caller): INVALID_ARGUMENT for a malformed transaction_id or owner;
  // NOT_FOUND, as for an unknown id, when a non-admin names another.
  absl::StatusOr<std::string> OwnerFor(const Caller& caller,
                                       std::string_view requested,
                                       std::string_view transaction_id) const;

  const HandlerDeps deps_;
  core::TransactionLog* const log_;
  const core::EventMatcher* const matcher_;
  const core::Limits limits_;
  const Clock* const clock_;
  RandomSource* const random_;
  const std::function<void()> committed_;
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HANDLERS_EVENT_HANDLER_H_
