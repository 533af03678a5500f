#include "server/handlers/delivery_handler.h"

#include <optional>
#include <vector>

#include "common/status_macros.h"
#include "common/strings.h"
#include "core/validation.h"
#include "google/protobuf/util/time_util.h"
#include "server/converters/delivery_converter.h"
#include "server/handlers/outcome_watcher.h"

namespace webhooks::server {
namespace {

// A server stream that ends at once with a status.
class FinishedStream final : public grpc::ServerWriteReactor<v1::Outcome> {
 public:
  explicit FinishedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

absl::Status DeliveryHandler::CheckSubscription(
    std::string_view subscription_id, const core::Scope& scope) const {
  RETURN_IF_ERROR(core::ValidateResourceId("subscription_id", subscription_id));
  return domain_.registry->Get(subscription_id, scope).status();
}

grpc::ServerUnaryReactor* DeliveryHandler::ListAttempts(
    grpc::CallbackServerContext* ctx, const v1::ListAttemptsRequest* request,
    v1::ListAttemptsResponse* response) {
  return RunUnary(
      ctx, deps_, Operation::kReadDeliveries,
      [=, this](const Caller& caller) -> absl::Status {
        if (!v1::DeliveryAttempt::Status_IsValid(request->status())) {
          return absl::InvalidArgumentError(
              StrCat("status: unknown value ", request->status()));
        }
        RETURN_IF_ERROR(
            CheckSubscription(request->subscription_id(), ScopeFor(caller)));
        std::optional<core::AttemptRecord::Status> status;
        if (request->status() != v1::DeliveryAttempt::STATUS_UNSPECIFIED) {
          status = static_cast<core::AttemptRecord::Status>(request->status());
        }
        // Attempts in flight come first on the first page: they are newest.
        if (request->page_token().empty() &&
            (!status.has_value() || *status == core::AttemptRecord::PENDING)) {
          ASSIGN_OR_RETURN(
              std::vector<core::AttemptRecord> in_flight,
              domain_.dispatcher->InFlight(request->subscription_id()));
          for (const core::AttemptRecord& attempt : in_flight) {
            *response->add_attempts() = AttemptToApi(attempt);
          }
        }
        if (status == core::AttemptRecord::PENDING) return absl::OkStatus();
        ASSIGN_OR_RETURN(
            core::AttemptPage page,
            domain_.attempts->List(request->subscription_id(), status,
                                   request->page_size(), request->page_token()));
        for (const core::AttemptRecord& attempt : page.attempts) {
          *response->add_attempts() = AttemptToApi(attempt);
        }
        response->set_next_page_token(page.next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DeliveryHandler::GetAttempt(
    grpc::CallbackServerContext* ctx, const v1::GetAttemptRequest* request,
    v1::DeliveryAttempt* response) {
  return RunUnary(
      ctx, deps_, Operation::kReadDeliveries,
      [=, this](const Caller& caller) -> absl::Status {
        RETURN_IF_ERROR(
            CheckSubscription(request->subscription_id(), ScopeFor(caller)));
        ASSIGN_OR_RETURN(
            std::vector<core::AttemptRecord> in_flight,
            domain_.dispatcher->InFlight(request->subscription_id()));
        for (const core::AttemptRecord& attempt : in_flight) {
          if (attempt.id() == request->attempt_id()) {
            *response = AttemptToApi(attempt);
            return absl::OkStatus();
          }
        }
        ASSIGN_OR_RETURN(core::AttemptRecord attempt,
                         domain_.attempts->Get(request->subscription_id(),
                                               request->attempt_id()));
        *response = AttemptToApi(attempt);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DeliveryHandler::GetDelivery(
    grpc::CallbackServerContext* ctx, const v1::GetDeliveryRequest* request,
    v1::Delivery* response) {
  return RunUnary(
      ctx, deps_, Operation::kReadDeliveries,
      [=, this](const Caller& caller) -> absl::Status {
        RETURN_IF_ERROR(
            core::ValidateResourceId("delivery_id", request->delivery_id()));
        absl::StatusOr<core::DeliveryRecord> delivery =
            domain_.queue->Get(request->delivery_id());
        if (!delivery.ok()) return delivery.status();
        if (!domain_.registry->Get(delivery->subscription_id(), ScopeFor(caller))
                 .ok()) {
          // Another principal's delivery does not exist for this caller.
          return absl::NotFoundError(
              StrCat("delivery \"", request->delivery_id(), "\" not found"));
        }
        *response = DeliveryToApi(*delivery);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DeliveryHandler::Redeliver(
    grpc::CallbackServerContext* ctx, const v1::RedeliverRequest* request,
    v1::Delivery* response) {
  return RunUnary(ctx, deps_, Operation::kWriteDeliveries,
                  [=, this](const Caller& caller) -> absl::Status {
                    ASSIGN_OR_RETURN(
                        core::DeliveryRecord delivery,
                        domain_.dispatcher->Redeliver(request->delivery_id(),
                                                      ScopeFor(caller)));
                    *response = DeliveryToApi(delivery);
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* DeliveryHandler::RecoverFailedDeliveries(
    grpc::CallbackServerContext* ctx,
    const v1::RecoverFailedDeliveriesRequest* request,
    v1::RecoverFailedDeliveriesResponse* response) {
  return RunUnary(
      ctx, deps_, Operation::kWriteDeliveries,
      [=, this](const Caller& caller) -> absl::Status {
        RETURN_IF_ERROR(
            core::ValidateResourceId("subscription_id", request->subscription_id()));
        if (!request->has_since()) return absl::InvalidArgumentError("since is required");
        const absl::Time since = absl::FromUnixMicros(
            google::protobuf::util::TimeUtil::TimestampToMicroseconds(
                request->since()));
        ASSIGN_OR_RETURN(int64_t count,
                         domain_.dispatcher->RecoverFailed(
                             request->subscription_id(), since, ScopeFor(caller)));
        response->set_redeliveries(count);
        return absl::OkStatus();
      });
}

grpc::ServerWriteReactor<v1::Outcome>* DeliveryHandler::WatchOutcomes(
    grpc::CallbackServerContext* ctx, const v1::WatchOutcomesRequest* request) {
  absl::StatusOr<Caller> caller =
      AuthorizeCall(deps_, *ctx, Operation::kReadDeliveries);
  if (!caller.ok()) return new FinishedStream(ToGrpcStatus(caller.status()));
  const core::Scope scope = ScopeFor(*caller);
  const std::string& subscription_id = request->subscription_id();
  if (!subscription_id.empty()) {
    absl::Status visible = CheckSubscription(subscription_id, scope);
    if (!visible.ok()) return new FinishedStream(ToGrpcStatus(visible));
  }
  absl::StatusOr<WatchQuota::Ticket> ticket = quota_.Acquire(caller->principal);
  if (!ticket.ok()) return new FinishedStream(ToGrpcStatus(ticket.status()));
  return new OutcomeWatcher(
      domain_.outcomes, subscription_id, scope.owner, *std::move(ticket),
      [auth = deps_.authenticator, caller = *caller] {
        return auth->StillAuthenticated(caller);
      });
}

}  // namespace webhooks::server
