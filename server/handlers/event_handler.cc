#include "server/handlers/event_handler.h"

#include <optional>
#include <vector>

#include "common/status_macros.h"
#include "common/strings.h"
#include "core/errors.h"
#include "core/event_validation.h"
#include "core/validation.h"
#include "google/protobuf/util/time_util.h"
#include "server/converters/event_converter.h"

namespace webhooks::server {
namespace {

absl::StatusOr<std::vector<core::EventRecord>> EventsFromApi(
    const google::protobuf::RepeatedPtrField<v1::Event>& events) {
  std::vector<core::EventRecord> records;
  records.reserve(events.size());
  for (int i = 0; i < events.size(); ++i) {
    ASSIGN_OR_RETURN(core::EventRecord record,
                     EventFromApi(StrCat("events[", i, "]"), events[i]));
    records.push_back(std::move(record));
  }
  return records;
}

void SetEventResults(const std::vector<core::EventResult>& results,
                     google::protobuf::RepeatedPtrField<v1::EventResult>* out) {
  for (const core::EventResult& result : results) {
    v1::EventResult* api = out->Add();
    api->set_event_id(result.event_id);
    api->set_matched_subscriptions(result.matched_subscriptions);
  }
}

}  // namespace

absl::StatusOr<std::string> EventHandler::OwnerFor(
    const Caller& caller, std::string_view requested,
    std::string_view transaction_id) const {
  // A malformed id is INVALID_ARGUMENT whoever's transaction it names.
  RETURN_IF_ERROR(
      core::ValidateTransactionId("transaction_id", transaction_id, limits_));
  if (requested.empty() || requested == caller.principal) {
    return caller.principal;
  }
  RETURN_IF_ERROR(core::ValidatePrincipalId("owner", requested, limits_));
  if (caller.admin) return std::string(requested);
  // Another principal's transactions do not exist for a publisher: the
  // answer an unknown id gets, whether or not that one exists.
  return core::error::TransactionNotFound(transaction_id);
}

grpc::ServerUnaryReactor* EventHandler::Prepare(
    grpc::CallbackServerContext* ctx, const v1::PrepareRequest* request,
    v1::PrepareResponse* response) {
  return RunUnary(
      ctx, deps_, Operation::kSubmitEvents,
      [=, this](const Caller& caller) -> absl::Status {
        ASSIGN_OR_RETURN(
            std::string owner,
            OwnerFor(caller, request->owner(), request->transaction_id()));
        ASSIGN_OR_RETURN(std::vector<core::EventRecord> events,
                         EventsFromApi(request->events()));
        ASSIGN_OR_RETURN(std::optional<absl::Duration> ttl,
                         TtlFromApi(*request));
        ASSIGN_OR_RETURN(core::PrepareResult result,
                         log_->Prepare(owner, request->transaction_id(),
                                       std::move(events), ttl));
        *response->mutable_transaction() = TransactionToApi(result.transaction);
        SetEventResults(result.event_results, response->mutable_event_results());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* EventHandler::Commit(grpc::CallbackServerContext* ctx,
                                               const v1::CommitRequest* request,
                                               v1::CommitResponse* response) {
  return RunUnary(
      ctx, deps_, Operation::kSubmitEvents,
      [=, this](const Caller& caller) -> absl::Status {
        ASSIGN_OR_RETURN(
            std::string owner,
            OwnerFor(caller, request->owner(), request->transaction_id()));
        ASSIGN_OR_RETURN(core::CommitResult result,
                         log_->Commit(owner, request->transaction_id()));
        *response->mutable_transaction() = TransactionToApi(result.transaction);
        response->set_deliveries_created(result.deliveries_created);
        if (result.deliveries_created > 0) committed_();
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* EventHandler::Abort(grpc::CallbackServerContext* ctx,
                                              const v1::AbortRequest* request,
                                              v1::AbortResponse* response) {
  return RunUnary(
      ctx, deps_, Operation::kSubmitEvents,
      [=, this](const Caller& caller) -> absl::Status {
        ASSIGN_OR_RETURN(
            std::string owner,
            OwnerFor(caller, request->owner(), request->transaction_id()));
        ASSIGN_OR_RETURN(core::TransactionRecord record,
                         log_->Abort(owner, request->transaction_id()));
        *response->mutable_transaction() = TransactionToApi(record);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* EventHandler::GetTransaction(
    grpc::CallbackServerContext* ctx, const v1::GetTransactionRequest* request,
    v1::Transaction* response) {
  return RunUnary(
      ctx, deps_, Operation::kSubmitEvents,
      [=, this](const Caller& caller) -> absl::Status {
        ASSIGN_OR_RETURN(
            std::string owner,
            OwnerFor(caller, request->owner(), request->transaction_id()));
        ASSIGN_OR_RETURN(core::TransactionRecord record,
                         log_->Get(owner, request->transaction_id()));
        *response = TransactionToApi(record);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* EventHandler::Publish(
    grpc::CallbackServerContext* ctx, const v1::PublishRequest* request,
    v1::PublishResponse* response) {
  return RunUnary(
      ctx, deps_, Operation::kSubmitEvents,
      [=, this](const Caller& caller) -> absl::Status {
        ASSIGN_OR_RETURN(std::vector<core::EventRecord> events,
                         EventsFromApi(request->events()));
        std::vector<core::EventResult> results;
        ASSIGN_OR_RETURN(
            core::CommitResult result,
            log_->Publish(caller.principal, std::move(events), &results));
        *response->mutable_transaction() = TransactionToApi(result.transaction);
        SetEventResults(results, response->mutable_event_results());
        response->set_deliveries_created(result.deliveries_created);
        if (result.deliveries_created > 0) committed_();
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* EventHandler::MatchSubscriptions(
    grpc::CallbackServerContext* ctx,
    const v1::MatchSubscriptionsRequest* request,
    v1::MatchSubscriptionsResponse* response) {
  return RunUnary(
      ctx, deps_, Operation::kSubmitEvents,
      [=, this](const Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(core::EventRecord event,
                         EventFromApi("event", request->event()));
        RETURN_IF_ERROR(
            core::NormalizeEvent("event", event, limits_, *clock_, *random_));
        for (const core::Candidate& candidate : matcher_->Explain(event)) {
          *response->add_matches() = MatchToApi(candidate);
        }
        return absl::OkStatus();
      });
}

}  // namespace webhooks::server
