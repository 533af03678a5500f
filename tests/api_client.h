// A small synchronous client of the webhooks.v1 API for end-to-end tests.
// Every call carries `authorization: Bearer <token>` when a token is set, has a
// deadline, and returns the gRPC status as an absl::Status.
//
//   Api admin(server->NewChannel(), kAdminToken);
//   ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
//                        admin.CreateSubscription(NewSubscription("/NOAA")));
//   EXPECT_THAT(admin.WithToken(kAliceToken).GetSubscription(sub.id()),
//               StatusIs(absl::StatusCode::kNotFound, _));
#ifndef WEBHOOKS_TESTS_API_CLIENT_H_
#define WEBHOOKS_TESTS_API_CLIENT_H_

#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "webhooks/v1/api_key.grpc.pb.h"
#include "webhooks/v1/delivery.grpc.pb.h"
#include "webhooks/v1/dialect.grpc.pb.h"
#include "webhooks/v1/event.grpc.pb.h"
#include "webhooks/v1/principal.grpc.pb.h"
#include "webhooks/v1/subscription.grpc.pb.h"

namespace webhooks::e2e {

namespace v1 = ::webhooks::v1;

// Tokens of TokensConfig(); each at least 16 bytes.
inline constexpr char kAdminToken[] = "admin-token-0123456789";
inline constexpr char kPublisherToken[] = "publisher-token-0123456789";
inline constexpr char kAliceToken[] = "alice-token-0123456789";
inline constexpr char kBobToken[] = "bob-token-0123456789";
inline constexpr char kUnknownToken[] = "unknown-token-0123456789";

// Config text with four tokens: admin (principal "ops"), publisher ("pub"),
// and subscribers "alice" and "bob".
std::string TokensConfig();

// A valid dynamic subscription: https target on hooks.example.com.
v1::Subscription NewSubscription(std::string_view site = "/",
                                 std::string_view resource_type = "user",
                                 std::string_view event_type = "added",
                                 std::string_view path = "/hook");

absl::Status ToAbsl(const grpc::Status& status);

class Api {
 public:
  explicit Api(std::shared_ptr<grpc::Channel> channel, std::string token = "");

  // The same channel with another bearer token ("" for none).
  Api WithToken(std::string token) const;
  // The same channel sending `authorization: <value>` verbatim.
  Api WithAuthorizationHeader(std::string value) const;

  // SubscriptionService.
  absl::StatusOr<v1::Subscription> CreateSubscription(
      const v1::Subscription& subscription) const;
  absl::StatusOr<v1::Subscription> GetSubscription(std::string_view id) const;
  absl::StatusOr<v1::ListSubscriptionsResponse> ListSubscriptions(
      const v1::ListSubscriptionsRequest& request) const;
  // Follows next_page_token to the end (at most 1000 pages).
  absl::StatusOr<std::vector<v1::Subscription>> ListAllSubscriptions(
      v1::ListSubscriptionsRequest request = {}) const;
  absl::StatusOr<v1::Subscription> UpdateSubscription(
      const v1::Subscription& subscription,
      const std::vector<std::string>& paths) const;
  absl::StatusOr<v1::Subscription> ActivateSubscription(
      std::string_view id) const;
  absl::StatusOr<v1::Subscription> DeactivateSubscription(
      std::string_view id, std::string_view status_message = "") const;
  absl::Status DeleteSubscription(std::string_view id) const;
  absl::StatusOr<v1::Subscription> RotateSubscriptionSecret(
      std::string_view id) const;

  // PrincipalService.
  absl::StatusOr<v1::Principal> SetPrincipalGroups(
      std::string_view principal_id,
      const std::vector<std::string>& groups) const;
  absl::StatusOr<v1::Principal> GetPrincipal(std::string_view id) const;
  absl::StatusOr<v1::DeletePrincipalResponse> DeletePrincipal(
      std::string_view id, bool deactivate_only = false) const;

  // DialectService.
  absl::StatusOr<v1::Dialect> CreateDialect(const v1::Dialect& dialect) const;
  absl::StatusOr<v1::Dialect> GetDialect(std::string_view name) const;
  absl::StatusOr<v1::ListDialectsResponse> ListDialects(
      const v1::ListDialectsRequest& request = {}) const;
  absl::StatusOr<v1::Dialect> UpdateDialect(
      const v1::Dialect& dialect, const std::vector<std::string>& paths) const;
  absl::Status DeleteDialect(std::string_view name) const;

  // Opens DeliveryService.WatchOutcomes, reads until the stream ends or
  // `wait` passes, and returns the final status (DEADLINE_EXCEEDED when the
  // stream was still open).
  absl::Status WatchOutcomes(const v1::WatchOutcomesRequest& request,
                             absl::Duration wait = absl::Seconds(3)) const;

  // Any unary RPC of the six services:
  //   api.Call(&v1::EventService::Stub::Prepare, v1::PrepareRequest())
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Call(
      grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                   Response*),
      const Request& request) const {
    grpc::ClientContext context;
    Prepare(context);
    Response response;
    grpc::Status status =
        (StubFor<Stub>().*method)(&context, request, &response);
    if (!status.ok()) return ToAbsl(status);
    return response;
  }

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  struct Stubs;

  void Prepare(grpc::ClientContext& context) const;

  template <typename Stub>
  Stub& StubFor() const;

  std::shared_ptr<grpc::Channel> channel_;
  std::string authorization_;  // header value; empty: none
  std::shared_ptr<Stubs> stubs_;
};

struct Api::Stubs {
  explicit Stubs(const std::shared_ptr<grpc::Channel>& channel);
  std::unique_ptr<v1::SubscriptionService::Stub> subscriptions;
  std::unique_ptr<v1::PrincipalService::Stub> principals;
  std::unique_ptr<v1::DialectService::Stub> dialects;
  std::unique_ptr<v1::EventService::Stub> events;
  std::unique_ptr<v1::DeliveryService::Stub> deliveries;
  std::unique_ptr<v1::ApiKeyService::Stub> api_keys;
};

template <typename Stub>
Stub& Api::StubFor() const {
  if constexpr (std::is_same_v<Stub, v1::SubscriptionService::Stub>) {
    return *stubs_->subscriptions;
  } else if constexpr (std::is_same_v<Stub, v1::PrincipalService::Stub>) {
    return *stubs_->principals;
  } else if constexpr (std::is_same_v<Stub, v1::DialectService::Stub>) {
    return *stubs_->dialects;
  } else if constexpr (std::is_same_v<Stub, v1::EventService::Stub>) {
    return *stubs_->events;
  } else if constexpr (std::is_same_v<Stub, v1::ApiKeyService::Stub>) {
    return *stubs_->api_keys;
  } else {
    static_assert(std::is_same_v<Stub, v1::DeliveryService::Stub>);
    return *stubs_->deliveries;
  }
}

// Every subscription (all pages, page_size 1000) in one response message, to
// compare what is stored before and after a call.
absl::StatusOr<v1::ListSubscriptionsResponse> SnapshotSubscriptions(
    const Api& api);

// grpc.health.v1.Health/Check for `service`: the serving status number
// (1 = SERVING), through a generic stub and hand-encoded messages.
absl::StatusOr<int> HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                                std::string_view service = "");

// grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo with
// `list_services: ""`: the names of the services the server lists.
absl::StatusOr<std::vector<std::string>> ReflectionListServices(
    const std::shared_ptr<grpc::Channel>& channel);

}  // namespace webhooks::e2e

#endif  // WEBHOOKS_TESTS_API_CLIENT_H_
