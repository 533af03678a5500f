#include "tests/event_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"

namespace webhooks::e2e {
namespace {

using google::protobuf::util::TimeUtil;

v1::AclEntry Entry(v1::AclEntry::Action action, std::string_view principal,
                   std::string_view permission) {
  v1::AclEntry entry;
  entry.set_action(action);
  entry.set_principal(std::string(principal));
  entry.set_permission(std::string(permission));
  return entry;
}

}  // namespace

v1::Event NewEvent(std::string_view id, std::string_view site,
                   std::vector<std::string> resource_types,
                   std::vector<std::string> event_types) {
  v1::Event event;
  event.set_id(std::string(id));
  event.set_site(std::string(site));
  for (std::string& type : resource_types) {
    event.add_resource_types(std::move(type));
  }
  for (std::string& type : event_types) event.add_event_types(std::move(type));
  (*event.mutable_representations())["webhook-delivery"].set_body(
      absl::StrCat("{\"id\":\"", std::string(id), "\"}"));
  return event;
}

v1::AclEntry Allow(std::string_view principal, std::string_view permission) {
  return Entry(v1::AclEntry::ALLOW, principal, permission);
}

v1::AclEntry Deny(std::string_view principal, std::string_view permission) {
  return Entry(v1::AclEntry::DENY, principal, permission);
}

v1::PrepareRequest PrepareRequestOf(std::string_view transaction_id,
                                    const std::vector<v1::Event>& events,
                                    std::optional<absl::Duration> ttl) {
  v1::PrepareRequest request;
  request.set_transaction_id(std::string(transaction_id));
  for (const v1::Event& event : events) *request.add_events() = event;
  if (ttl.has_value()) {
    *request.mutable_ttl() =
        TimeUtil::MicrosecondsToDuration(absl::ToInt64Microseconds(*ttl));
  }
  return request;
}

absl::StatusOr<v1::PrepareResponse> PrepareEvents(
    const Api& api, std::string_view transaction_id,
    const std::vector<v1::Event>& events, std::optional<absl::Duration> ttl) {
  return api.Call(&v1::EventService::Stub::Prepare,
                  PrepareRequestOf(transaction_id, events, ttl));
}

absl::StatusOr<v1::CommitResponse> CommitTransaction(
    const Api& api, std::string_view transaction_id) {
  v1::CommitRequest request;
  request.set_transaction_id(std::string(transaction_id));
  return api.Call(&v1::EventService::Stub::Commit, request);
}

absl::StatusOr<v1::AbortResponse> AbortTransaction(
    const Api& api, std::string_view transaction_id) {
  v1::AbortRequest request;
  request.set_transaction_id(std::string(transaction_id));
  return api.Call(&v1::EventService::Stub::Abort, request);
}

absl::StatusOr<v1::Transaction> GetTransaction(
    const Api& api, std::string_view transaction_id) {
  v1::GetTransactionRequest request;
  request.set_transaction_id(std::string(transaction_id));
  return api.Call(&v1::EventService::Stub::GetTransaction, request);
}

absl::StatusOr<v1::PublishResponse> PublishEvents(
    const Api& api, const std::vector<v1::Event>& events) {
  v1::PublishRequest request;
  for (const v1::Event& event : events) *request.add_events() = event;
  return api.Call(&v1::EventService::Stub::Publish, request);
}

absl::StatusOr<v1::MatchSubscriptionsResponse> MatchEvent(
    const Api& api, const v1::Event& event) {
  v1::MatchSubscriptionsRequest request;
  *request.mutable_event() = event;
  return api.Call(&v1::EventService::Stub::MatchSubscriptions, request);
}

std::map<std::string, v1::SubscriptionMatch::Verdict> VerdictsById(
    const v1::MatchSubscriptionsResponse& response) {
  std::map<std::string, v1::SubscriptionMatch::Verdict> verdicts;
  for (const v1::SubscriptionMatch& match : response.matches()) {
    verdicts[match.subscription().id()] = match.verdict();
  }
  return verdicts;
}

std::set<std::string> DeliveredIds(
    const v1::MatchSubscriptionsResponse& response) {
  std::set<std::string> ids;
  for (const v1::SubscriptionMatch& match : response.matches()) {
    if (match.verdict() == v1::SubscriptionMatch::DELIVERED) {
      ids.insert(match.subscription().id());
    }
  }
  return ids;
}

absl::Time ToTime(const google::protobuf::Timestamp& timestamp) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) {
    return absl::InfinitePast();
  }
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(timestamp));
}

}  // namespace webhooks::e2e
