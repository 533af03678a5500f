// EventService calls and event builders for end-to-end tests.
//
//   v1::Event e = NewEvent("e1", "/NOAA/NWS/OUN");
//   *e.add_acl() = Allow("staff");
//   ASSERT_OK_AND_ASSIGN(v1::PrepareResponse p,
//                        PrepareEvents(publisher, "tx-1", {e}));
//   ASSERT_OK_AND_ASSIGN(v1::CommitResponse c,
//                        CommitTransaction(publisher, "tx-1"));
#ifndef WEBHOOKS_TESTS_EVENT_CLIENT_H_
#define WEBHOOKS_TESTS_EVENT_CLIENT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/api_client.h"
#include "webhooks/v1/event.pb.h"

namespace webhooks::e2e {

// A valid event: one resource type, one event type, a small
// "webhook-delivery" representation, no ACL.
v1::Event NewEvent(std::string_view id, std::string_view site = "/NOAA/NWS/OUN",
                   std::vector<std::string> resource_types = {"user"},
                   std::vector<std::string> event_types = {"added"});

v1::AclEntry Allow(std::string_view principal,
                   std::string_view permission = "view");
v1::AclEntry Deny(std::string_view principal,
                  std::string_view permission = "view");

// A PrepareRequest; `ttl` is set only when given.
v1::PrepareRequest PrepareRequestOf(
    std::string_view transaction_id, const std::vector<v1::Event>& events,
    std::optional<absl::Duration> ttl = std::nullopt);

absl::StatusOr<v1::PrepareResponse> PrepareEvents(
    const Api& api, std::string_view transaction_id,
    const std::vector<v1::Event>& events,
    std::optional<absl::Duration> ttl = std::nullopt);
absl::StatusOr<v1::CommitResponse> CommitTransaction(
    const Api& api, std::string_view transaction_id);
absl::StatusOr<v1::AbortResponse> AbortTransaction(
    const Api& api, std::string_view transaction_id);
absl::StatusOr<v1::Transaction> GetTransaction(const Api& api,
                                               std::string_view transaction_id);
absl::StatusOr<v1::PublishResponse> PublishEvents(
    const Api& api, const std::vector<v1::Event>& events);
absl::StatusOr<v1::MatchSubscriptionsResponse> MatchEvent(
    const Api& api, const v1::Event& event);

// Subscription id -> verdict of every match.
std::map<std::string, v1::SubscriptionMatch::Verdict> VerdictsById(
    const v1::MatchSubscriptionsResponse& response);
// Ids of the subscriptions whose verdict is DELIVERED.
std::set<std::string> DeliveredIds(
    const v1::MatchSubscriptionsResponse& response);

// A Transaction timestamp in absl::Time (InfinitePast when unset).
absl::Time ToTime(const google::protobuf::Timestamp& timestamp);

}  // namespace webhooks::e2e

#endif  // WEBHOOKS_TESTS_EVENT_CLIENT_H_
