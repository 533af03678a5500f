// Helpers for the delivery end-to-end tests: server configs, polling the
// DeliveryService until attempts or deliveries reach a state, an independent
// signature check with the `openssl` CLI, and a WatchOutcomes reader.
//
//   ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start(
//       DeliveryConfig("retry_schedule_seconds: [0, 1]"), TlsFlags(*certs)));
//   ASSERT_OK_AND_ASSIGN(auto attempts,
//                        WaitForResolvedAttempts(admin, sub.id(), 2));
#ifndef WEBHOOKS_TESTS_DELIVERY_TEST_UTIL_H_
#define WEBHOOKS_TESTS_DELIVERY_TEST_UTIL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "tests/api_client.h"
#include "tests/test_certificates.h"
#include "webhooks/v1/delivery.grpc.pb.h"

namespace webhooks::e2e {

// How long a test waits for something the server does in the background.
// Generous: the tests share two loaded cores.
inline constexpr absl::Duration kWait = absl::Seconds(60);

using Attempts = std::vector<v1::DeliveryAttempt>;

// TokensConfig() plus `delivery { <delivery_fields> }`.
std::string DeliveryConfig(std::string_view delivery_fields);

// --ca_bundle with the test CA and --allowed_cidrs=127.0.0.1/32.
std::vector<std::string> TlsFlags(const TestCertificates& certificates);

// A subscription at "/" for user/added events sent to `url`; owner
// `owner` when not empty.
v1::Subscription SubscriptionTo(std::string_view url,
                                std::string_view owner = "");

// Every attempt of the subscription, all pages, newest first.
absl::StatusOr<Attempts> ListAllAttempts(const Api& api,
                                         std::string_view subscription_id);

// Polls ListAttempts until `done` holds; DEADLINE_EXCEEDED (listing the last
// attempts seen) after `timeout`.
absl::StatusOr<Attempts> WaitForAttempts(
    const Api& api, std::string_view subscription_id,
    const std::function<bool(const Attempts&)>& done,
    absl::Duration timeout = kWait);
// Until at least `n` attempts are resolved (SUCCESSFUL or FAILED).
absl::StatusOr<Attempts> WaitForResolvedAttempts(
    const Api& api, std::string_view subscription_id, size_t n,
    absl::Duration timeout = kWait);
// The resolved ones of `attempts`, in the same order.
Attempts Resolved(const Attempts& attempts);

absl::StatusOr<v1::Delivery> GetDelivery(const Api& api,
                                         std::string_view delivery_id);
// Polls GetDelivery until the delivery is in `state`.
absl::StatusOr<v1::Delivery> WaitForDeliveryState(
    const Api& api, std::string_view delivery_id, v1::Delivery::State state,
    absl::Duration timeout = kWait);
// Polls GetSubscription until it is inactive.
absl::StatusOr<v1::Subscription> WaitForInactive(
    const Api& api, std::string_view subscription_id,
    absl::Duration timeout = kWait);

absl::StatusOr<v1::Delivery> Redeliver(const Api& api,
                                       std::string_view delivery_id);
// Redeliver, tried again while it answers FAILED_PRECONDITION (the delivery
// is being sent or its outcome being written).
absl::StatusOr<v1::Delivery> RedeliverWhenIdle(const Api& api,
                                               std::string_view delivery_id,
                                               absl::Duration timeout = kWait);
absl::StatusOr<int64_t> RecoverFailedDeliveries(
    const Api& api, std::string_view subscription_id, absl::Time since);

// The first value of header `name` (any case); empty when absent.
std::string HeaderValue(
    const google::protobuf::RepeatedPtrField<v1::Header>& headers,
    std::string_view name);

// "v1,<base64 HMAC-SHA256 of id.timestamp.body>" computed by the `openssl`
// CLI (dgst -mac HMAC) with the key decoded from a whsec_ secret.
absl::StatusOr<std::string> OpensslSignatureV1(std::string_view secret,
                                               std::string_view message_id,
                                               int64_t timestamp,
                                               std::string_view body);

// Reads DeliveryService.WatchOutcomes on a thread of its own.
class OutcomeStream {
 public:
  // Opens the stream with `token` and returns once the server has the watch
  // running (its initial metadata arrived) or the stream ended.
  OutcomeStream(const std::shared_ptr<grpc::Channel>& channel,
                const std::string& token, std::string subscription_id = "");
  OutcomeStream(const OutcomeStream&) = delete;
  OutcomeStream& operator=(const OutcomeStream&) = delete;
  ~OutcomeStream();  // cancels the call and joins the reader

  std::vector<v1::Outcome> Outcomes() const ABSL_LOCKS_EXCLUDED(mu_);
  // Waits until `done` holds for the outcomes received so far.
  bool WaitFor(const std::function<bool(const std::vector<v1::Outcome>&)>& done,
               absl::Duration timeout = kWait) const ABSL_LOCKS_EXCLUDED(mu_);
  // The final status once the stream has ended within `timeout`.
  std::optional<absl::Status> WaitForEnd(absl::Duration timeout = kWait) const
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  std::unique_ptr<v1::DeliveryService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::Outcome>> reader_;
  std::thread thread_;

  mutable absl::Mutex mu_;
  std::vector<v1::Outcome> outcomes_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> end_ ABSL_GUARDED_BY(mu_);
};

// Outcomes of `kind` for `subscription_id`.
std::vector<v1::Outcome> OutcomesOf(const std::vector<v1::Outcome>& outcomes,
                                    v1::Outcome::Kind kind,
                                    std::string_view subscription_id);

}  // namespace webhooks::e2e

#endif  // WEBHOOKS_TESTS_DELIVERY_TEST_UTIL_H_
