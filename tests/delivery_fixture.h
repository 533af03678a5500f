// The fixture of the delivery end-to-end tests: a receiver (HTTPS with the
// shared test CA, or plain HTTP), a webhookd process with a delivery config,
// an admin and a publisher client.
//
//   TEST_F(DeliveryE2eTest, Delivers) {
//     ASSERT_NO_FATAL_FAILURE(StartReceiver());
//     ASSERT_NO_FATAL_FAILURE(StartTlsServer("retry_schedule_seconds: [0]"));
//     ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
//                          Subscribe(receiver_->Url("/hook")));
//     ASSERT_OK(Publish({"e1"}));
//     ...
//   }
#ifndef WEBHOOKS_TESTS_DELIVERY_FIXTURE_H_
#define WEBHOOKS_TESTS_DELIVERY_FIXTURE_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "tests/api_client.h"
#include "tests/delivery_test_util.h"
#include "tests/https_receiver.h"
#include "tests/server_process.h"
#include "tests/test_certificates.h"

namespace webhooks::e2e {

class DeliveryE2eTest : public ::testing::Test {
 protected:
  // An HTTPS receiver with the shared test certificates; plain HTTP when
  // `tls` is false.
  void StartReceiver(bool tls = true);
  // webhookd with DeliveryConfig(delivery_fields) and `flags`.
  void StartServer(std::string_view delivery_fields,
                   std::vector<std::string> flags = {});
  // The same with TlsFlags() (test CA trusted, 127.0.0.1/32 allowed) first.
  void StartTlsServer(std::string_view delivery_fields,
                      std::vector<std::string> more_flags = {});

  // Creates SubscriptionTo(url, owner) through `as` (default: admin).
  absl::StatusOr<v1::Subscription> Subscribe(std::string_view url,
                                             const Api* as = nullptr,
                                             std::string_view owner = "");
  // Creates, as admin, a subscription to the receiver's `path` with
  // `control` as its delivery settings.
  absl::StatusOr<v1::Subscription> SubscribeWith(std::string_view path,
                                                 v1::DeliveryControl control);
  // Publishes one user/added event per id (body {"id":"<id>"}); each event's
  // ACL allows `allow` when not empty.
  absl::Status Publish(const std::vector<std::string>& event_ids,
                       std::string_view allow = "");

  const Api& admin() const { return *admin_; }
  const Api& publisher() const { return *publisher_; }
  const TestCertificates& certs() const { return *certs_; }

  const TestCertificates* certs_ = nullptr;
  // Declared before the server: the server stops first.
  std::unique_ptr<HttpsReceiver> receiver_;
  std::unique_ptr<ServerProcess> server_;
  std::optional<Api> admin_;
  std::optional<Api> publisher_;
};

// The body NewEvent(id) carries: {"id":"<id>"}.
std::string EventBody(std::string_view event_id);
// The event id a request carries (its body's "id"); "" when none.
std::string EventIdOf(const ReceivedRequest& r);

}  // namespace webhooks::e2e

#endif  // WEBHOOKS_TESTS_DELIVERY_FIXTURE_H_
