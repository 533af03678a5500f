#include "fuzz/rpc_calls.h"

#include <optional>
#include <string>
#include <vector>

#include "common/status_macros.h"
#include "common/strings.h"
#include "core/event_validation.h"
#include "core/validation.h"
#include "fuzz/fuzz_check.h"
#include "server/converters/delivery_converter.h"
#include "server/converters/dialect_converter.h"
#include "server/converters/event_converter.h"
#include "server/converters/subscription_converter.h"
#include "webhooks/v1/delivery.pb.h"
#include "webhooks/v1/dialect.pb.h"
#include "webhooks/v1/event.pb.h"
#include "webhooks/v1/principal.pb.h"
#include "webhooks/v1/subscription.pb.h"

namespace webhooks::fuzz {
namespace {

using server::SubscriptionToApi;

// What a client does with the response: its bytes must parse.
template <typename Message>
void Respond(const Message& response) {
  Message received;
  FUZZ_CHECK(received.ParseFromString(response.SerializeAsString()));
}

absl::StatusOr<std::vector<core::EventRecord>> EventsFromApi(
    const google::protobuf::RepeatedPtrField<v1::Event>& events) {
  std::vector<core::EventRecord> records;
  for (int i = 0; i < events.size(); ++i) {
    ASSIGN_OR_RETURN(core::EventRecord record,
                     server::EventFromApi(StrCat("events[", i, "]"), events[i]));
    records.push_back(std::move(record));
  }
  return records;
}

// As EventHandler::OwnerFor: a scoped caller's transactions are its own, an
// admin (unscoped) may name any owner.
absl::StatusOr<std::string> OwnerFor(const core::Scope& scope,
                                     const std::string& requested,
                                     const std::string& transaction_id,
                                     const core::Limits& limits) {
  RETURN_IF_ERROR(
      core::ValidateTransactionId("transaction_id", transaction_id, limits));
  const std::string principal = scope.owner.value_or("");
  if (requested.empty() || requested == principal) return principal;
  RETURN_IF_ERROR(core::ValidatePrincipalId("owner", requested, limits));
  if (!scope.owner.has_value()) return requested;
  return absl::NotFoundError("transaction not found");
}

std::vector<std::string> Paths(const google::protobuf::FieldMask& mask) {
  return {mask.paths().begin(), mask.paths().end()};
}

absl::Status Subscriptions(int rpc, const std::string& bytes,
                           const core::Scope& scope, FuzzDomain& d) {
  core::SubscriptionRegistry& registry = *d.registry;
  switch (rpc) {
    case 0: {
      v1::CreateSubscriptionRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      ASSIGN_OR_RETURN(core::SubscriptionRecord created,
                       registry.Create(server::SubscriptionFromApi(r.subscription()),
                                       scope));
      Respond(SubscriptionToApi(created, true));
      return absl::OkStatus();
    }
    case 1: {
      v1::GetSubscriptionRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      ASSIGN_OR_RETURN(core::SubscriptionRecord found, registry.Get(r.id(), scope));
      Respond(SubscriptionToApi(found, false));
      return absl::OkStatus();
    }
    case 2: {
      v1::ListSubscriptionsRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      ASSIGN_OR_RETURN(core::ListQuery query, server::ListQueryFromApi(r));
      ASSIGN_OR_RETURN(core::SubscriptionPage page, registry.List(query, scope));
      v1::ListSubscriptionsResponse response;
      for (const auto& record : page.subscriptions) {
        *response.add_subscriptions() = SubscriptionToApi(record, false);
      }
      response.set_next_page_token(page.next_page_token);
      Respond(response);
      return absl::OkStatus();
    }
    case 3: {
      v1::UpdateSubscriptionRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      ASSIGN_OR_RETURN(
          core::SubscriptionRecord updated,
          registry.Update(server::SubscriptionFromApi(r.subscription()),
                          Paths(r.update_mask()), scope));
      Respond(SubscriptionToApi(updated, false));
      return absl::OkStatus();
    }
    case 4:
    case 5: {
      v1::DeactivateSubscriptionRequest r;  // Activate's fields are a prefix
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      ASSIGN_OR_RETURN(core::SubscriptionRecord updated,
                       registry.SetActive(r.id(), rpc == 4,
                                          rpc == 4 ? "" : r.status_message(),
                                          scope));
      Respond(SubscriptionToApi(updated, false));
      return absl::OkStatus();
    }
    case 6: {
      v1::DeleteSubscriptionRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      return registry.Delete(r.id(), scope);
    }
    case 7: {
      v1::RotateSubscriptionSecretRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      ASSIGN_OR_RETURN(core::SubscriptionRecord rotated,
                       registry.RotateSecret(r.id(), scope));
      Respond(SubscriptionToApi(rotated, true));
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::Status DialectsAndPrincipals(int rpc, const std::string& bytes,
                                   FuzzDomain& d) {
  switch (rpc) {
    case 8: {
      v1::CreateDialectRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      ASSIGN_OR_RETURN(core::DialectRecord created,
                       d.catalog->Create(server::DialectFromApi(r.dialect())));
      Respond(server::DialectToApi(created));
      return absl::OkStatus();
    }
    case 9: {
      v1::GetDialectRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      RETURN_IF_ERROR(core::ValidateDialectName("name", r.name()));
      ASSIGN_OR_RETURN(core::DialectRecord found, d.catalog->Get(r.name()));
      Respond(server::DialectToApi(found));
      return absl::OkStatus();
    }
    case 10: {
      v1::ListDialectsRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      ASSIGN_OR_RETURN(core::DialectPage page,
                       d.catalog->List(r.page_size(), r.page_token()));
      v1::ListDialectsResponse response;
      for (const auto& record : page.dialects) {
        *response.add_dialects() = server::DialectToApi(record);
      }
      response.set_next_page_token(page.next_page_token);
      Respond(response);
      return absl::OkStatus();
    }
    case 11: {
      v1::UpdateDialectRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      ASSIGN_OR_RETURN(core::DialectRecord updated,
                       d.catalog->Update(server::DialectFromApi(r.dialect()),
                                         Paths(r.update_mask())));
      Respond(server::DialectToApi(updated));
      return absl::OkStatus();
    }
    case 12: {
      v1::DeleteDialectRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      return d.registry->DeleteDialect(r.name());
    }
    case 13: {
      v1::SetPrincipalGroupsRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      ASSIGN_OR_RETURN(core::PrincipalRecord record,
                       d.directory->SetGroups(
                           r.principal_id(),
                           {r.groups().begin(), r.groups().end()}));
      Respond(record);
      return absl::OkStatus();
    }
    case 14: {
      v1::GetPrincipalRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      ASSIGN_OR_RETURN(core::PrincipalRecord record, d.directory->Get(r.id()));
      Respond(record);
      return absl::OkStatus();
    }
    case 15: {
      v1::DeletePrincipalRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      return d.registry->RemovePrincipal(r.id(), r.deactivate_only()).status();
    }
  }
  return absl::OkStatus();
}

absl::Status Events(int rpc, const std::string& bytes,
                    const core::Scope& scope, FuzzDomain& d) {
  core::TransactionLog& log = *d.transactions;
  switch (rpc) {
    case 16: {
      v1::PrepareRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      ASSIGN_OR_RETURN(std::vector<core::EventRecord> events,
                       EventsFromApi(r.events()));
      ASSIGN_OR_RETURN(std::optional<absl::Duration> ttl,
                       server::TtlFromApi(r));
      ASSIGN_OR_RETURN(std::string owner,
                       OwnerFor(scope, r.owner(), r.transaction_id(), d.limits));
      ASSIGN_OR_RETURN(core::PrepareResult result,
                       log.Prepare(owner, r.transaction_id(), std::move(events),
                                   ttl));
      Respond(server::TransactionToApi(result.transaction));
      return absl::OkStatus();
    }
    case 17: {
      v1::CommitRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      ASSIGN_OR_RETURN(std::string owner,
                       OwnerFor(scope, r.owner(), r.transaction_id(), d.limits));
      ASSIGN_OR_RETURN(core::CommitResult result,
                       log.Commit(owner, r.transaction_id()));
      Respond(server::TransactionToApi(result.transaction));
      return absl::OkStatus();
    }
    case 18: {
      v1::AbortRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      ASSIGN_OR_RETURN(std::string owner,
                       OwnerFor(scope, r.owner(), r.transaction_id(), d.limits));
      ASSIGN_OR_RETURN(core::TransactionRecord record,
                       log.Abort(owner, r.transaction_id()));
      Respond(server::TransactionToApi(record));
      return absl::OkStatus();
    }
    case 19: {
      v1::GetTransactionRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      ASSIGN_OR_RETURN(std::string owner,
                       OwnerFor(scope, r.owner(), r.transaction_id(), d.limits));
      ASSIGN_OR_RETURN(core::TransactionRecord record,
                       log.Get(owner, r.transaction_id()));
      Respond(server::TransactionToApi(record));
      return absl::OkStatus();
    }
    case 20: {
      v1::PublishRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      ASSIGN_OR_RETURN(std::vector<core::EventRecord> events,
                       EventsFromApi(r.events()));
      std::vector<core::EventResult> results;
      ASSIGN_OR_RETURN(core::CommitResult result,
                       log.Publish(scope.owner.value_or(""), std::move(events),
                                   &results));
      Respond(server::TransactionToApi(result.transaction));
      return absl::OkStatus();
    }
    case 21: {
      v1::MatchSubscriptionsRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      ASSIGN_OR_RETURN(core::EventRecord event,
                       server::EventFromApi("event", r.event()));
      RETURN_IF_ERROR(
          core::NormalizeEvent("event", event, d.limits, d.clock, d.random));
      v1::MatchSubscriptionsResponse response;
      for (const core::Candidate& candidate : d.matcher->Explain(event)) {
        *response.add_matches() = server::MatchToApi(candidate);
      }
      Respond(response);
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::Status Deliveries(int rpc, const std::string& bytes,
                        const core::Scope& scope, FuzzDomain& d) {
  switch (rpc) {
    case 22: {
      v1::ListAttemptsRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      if (!v1::DeliveryAttempt::Status_IsValid(r.status())) {
        return absl::InvalidArgumentError("status: unknown value");
      }
      RETURN_IF_ERROR(core::ValidateResourceId("subscription_id", r.subscription_id()));
      RETURN_IF_ERROR(d.registry->Get(r.subscription_id(), scope).status());
      std::optional<core::AttemptRecord::Status> status;
      if (r.status() != v1::DeliveryAttempt::STATUS_UNSPECIFIED) {
        status = static_cast<core::AttemptRecord::Status>(r.status());
      }
      ASSIGN_OR_RETURN(core::AttemptPage page,
                       d.attempts->List(r.subscription_id(), status,
                                        r.page_size(), r.page_token()));
      v1::ListAttemptsResponse response;
      for (const core::AttemptRecord& attempt : page.attempts) {
        *response.add_attempts() = server::AttemptToApi(attempt);
      }
      Respond(response);
      return absl::OkStatus();
    }
    case 23: {
      v1::GetAttemptRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      RETURN_IF_ERROR(core::ValidateResourceId("subscription_id", r.subscription_id()));
      RETURN_IF_ERROR(d.registry->Get(r.subscription_id(), scope).status());
      ASSIGN_OR_RETURN(core::AttemptRecord attempt,
                       d.attempts->Get(r.subscription_id(), r.attempt_id()));
      Respond(server::AttemptToApi(attempt));
      return absl::OkStatus();
    }
    case 24: {
      v1::GetDeliveryRequest r;
      if (!r.ParseFromString(bytes)) return absl::OkStatus();
      RETURN_IF_ERROR(core::ValidateResourceId("delivery_id", r.delivery_id()));
      ASSIGN_OR_RETURN(core::DeliveryRecord delivery,
                       d.queue->Get(r.delivery_id()));
      Respond(server::DeliveryToApi(delivery));
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunCall(int rpc, const std::string& bytes,
                     const core::Scope& scope, FuzzDomain& domain) {
  if (rpc < 8) return Subscriptions(rpc, bytes, scope, domain);
  if (rpc < 16) return DialectsAndPrincipals(rpc, bytes, domain);
  if (rpc < 22) return Events(rpc, bytes, scope, domain);
  return Deliveries(rpc, bytes, scope, domain);
}

}  // namespace webhooks::fuzz
