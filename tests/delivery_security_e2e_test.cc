// Delivery end to end, the security rules: destinations that are loopback,
// private, link-local, CGNAT, unspecified, multicast or unique-local are
// refused (checked on the address connected to, so "localhost" too) unless
// allowed_cidrs names them, and the receiver sees nothing; http:// targets
// need the development flag; TLS is verified (an untrusted CA fails).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/delivery_fixture.h"
#include "tests/matchers.h"

namespace webhooks::e2e {
namespace {

using ::testing::_;
using ::testing::AnyOfArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;
using Code = absl::StatusCode;

constexpr char kRefused[] = "Refused to connect: ";

struct Target {
  std::string url;
  // The address the refusal names (one of them for a name).
  std::vector<std::string> addresses;
};

// Creates a subscription per target, publishes one event and expects one
// FAILED "Refused to connect" attempt for each.
void ExpectAllRefused(const Api& admin, const std::vector<Target>& targets,
                      const std::function<absl::Status()>& publish) {
  std::vector<std::string> ids;
  for (const Target& target : targets) {
    absl::StatusOr<v1::Subscription> sub =
        admin.CreateSubscription(SubscriptionTo(target.url));
    ASSERT_OK(sub.status()) << target.url;
    ids.push_back(sub->id());
  }
  ASSERT_OK(publish());
  for (size_t i = 0; i < targets.size(); ++i) {
    absl::StatusOr<Attempts> attempts =
        WaitForResolvedAttempts(admin, ids[i], 1);
    ASSERT_OK(attempts.status()) << targets[i].url;
    ASSERT_THAT(*attempts, SizeIs(1)) << targets[i].url;
    const v1::DeliveryAttempt& a = (*attempts)[0];
    EXPECT_EQ(a.status(), v1::DeliveryAttempt::FAILED) << targets[i].url;
    EXPECT_THAT(a.message(), StartsWith(kRefused)) << targets[i].url;
    std::vector<::testing::Matcher<std::string>> named;
    for (const std::string& address : targets[i].addresses) {
      named.push_back(HasSubstr(address));
    }
    EXPECT_THAT(a.message(), AnyOfArray(named)) << targets[i].url;
    EXPECT_EQ(a.response().status_code(), 0) << targets[i].url;
  }
}

TEST_F(DeliveryE2eTest, RefusesNonPublicDestinationsWithoutAnAllowList) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver(/*tls=*/false));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<HttpsReceiver> tls_receiver,
                       HttpsReceiver::Start(certs_));
  // http:// allowed, so the scheme is not the reason; no allowed_cidrs.
  ASSERT_NO_FATAL_FAILURE(StartServer(
      "retry_schedule_seconds: [0]",
      {"--allow_http_targets", "--ca_bundle=" + certs().ca_file()}));
  const std::string port = std::to_string(receiver_->port());
  const std::vector<Target> targets = {
      {receiver_->Url("/loopback"), {"127.0.0.1"}},
      {receiver_->Url("/localhost", "localhost"), {"127.0.0.1", "::1"}},
      {"http://[::1]:" + port + "/ipv6-loopback", {"::1"}},
      {"http://10.0.0.1:" + port + "/private", {"10.0.0.1"}},
      {"http://192.168.1.1/private", {"192.168.1.1"}},
      {"http://169.254.169.254/latest/meta-data/", {"169.254.169.254"}},
      {"http://100.64.0.1/cgnat", {"100.64.0.1"}},
      {"http://0.0.0.0:" + port + "/unspecified", {"0.0.0.0"}},
      {"http://224.0.0.1/multicast", {"224.0.0.1"}},
      {"http://[fd00::1]/unique-local", {"fd00::1"}},
      {"http://[::ffff:127.0.0.1]:" + port + "/mapped", {"127.0.0.1"}},
      {tls_receiver->Url("/tls"), {"127.0.0.1"}},
      {tls_receiver->Url("/tls-localhost", "localhost"), {"127.0.0.1", "::1"}},
  };
  ASSERT_NO_FATAL_FAILURE(
      ExpectAllRefused(admin(), targets, [this] { return Publish({"e1"}); }));
  // No connection was ever made.
  EXPECT_THAT(receiver_->Requests(), IsEmpty());
  EXPECT_EQ(receiver_->connections(), 0);
  EXPECT_THAT(tls_receiver->Requests(), IsEmpty());
  EXPECT_EQ(tls_receiver->connections(), 0);
}

TEST_F(DeliveryE2eTest, AllowListAdmitsExactlyTheNamedRange) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver(/*tls=*/false));
  ASSERT_NO_FATAL_FAILURE(
      StartServer("retry_schedule_seconds: [0]",
                  {"--allow_http_targets", "--allowed_cidrs=127.0.0.1/32"}));
  ASSERT_OK_AND_ASSIGN(v1::Subscription allowed,
                       Subscribe(receiver_->Url("/allowed")));
  const std::string port = std::to_string(receiver_->port());
  ASSERT_NO_FATAL_FAILURE(ExpectAllRefused(
      admin(),
      {{"http://[::1]:" + port + "/ipv6-loopback", {"::1"}},
       {"http://127.0.0.2:" + port + "/other-loopback", {"127.0.0.2"}},
       {"http://10.0.0.1:" + port + "/private", {"10.0.0.1"}}},
      [this] { return Publish({"e1"}); }));
  ASSERT_OK_AND_ASSIGN(Attempts attempts,
                       WaitForResolvedAttempts(admin(), allowed.id(), 1));
  EXPECT_EQ(attempts[0].status(), v1::DeliveryAttempt::SUCCESSFUL)
      << attempts[0].message();
  EXPECT_EQ(receiver_->Count("/allowed"), 1u);
  EXPECT_THAT(receiver_->Requests(), SizeIs(1));
}

TEST_F(DeliveryE2eTest, PlainHttpTargetsNeedTheDevelopmentFlag) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver(/*tls=*/false));
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("retry_schedule_seconds: [0]"));
  EXPECT_THAT(Subscribe(receiver_->Url("/plain")),
              StatusIs(Code::kInvalidArgument, HasSubstr("target_url")));
  EXPECT_THAT(Subscribe("https://user:secret@127.0.0.1:" +
                        std::to_string(receiver_->port()) + "/credentials"),
              StatusIs(Code::kInvalidArgument, HasSubstr("target_url")));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> all,
                       admin().ListAllSubscriptions());
  EXPECT_THAT(all, IsEmpty());
}

TEST_F(DeliveryE2eTest, UntrustedCertificateIsATlsFailure) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  // No --ca_bundle: the system's CAs do not know the test CA.
  ASSERT_NO_FATAL_FAILURE(StartServer("retry_schedule_seconds: [0, 1]",
                                      {"--allowed_cidrs=127.0.0.1/32"}));
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/hook")));
  ASSERT_OK(Publish({"e1"}));

  ASSERT_OK_AND_ASSIGN(Attempts attempts,
                       WaitForResolvedAttempts(admin(), sub.id(), 2));
  for (const v1::DeliveryAttempt& a : attempts) {
    EXPECT_EQ(a.status(), v1::DeliveryAttempt::FAILED);
    EXPECT_THAT(a.message(),
                StartsWith("The TLS connection to the remote server failed: "));
  }
  // The handshake was tried and failed; no request was ever sent.
  EXPECT_TRUE(receiver_->WaitForHandshakeFailures(1, kWait));
  EXPECT_THAT(receiver_->Requests(), IsEmpty());
  ASSERT_OK(WaitForDeliveryState(admin(), attempts[0].delivery_id(),
                                 v1::Delivery::FAILED)
                .status());
}

TEST_F(DeliveryE2eTest, TrustedCaButWrongNameIsATlsFailure) {
  ASSERT_OK_AND_ASSIGN(certs_, TestCertificates::Shared());
  // 127.0.0.2 is loopback too but not in the certificate.
  ASSERT_OK_AND_ASSIGN(receiver_, HttpsReceiver::Start(certs_, "127.0.0.2"));
  ASSERT_NO_FATAL_FAILURE(StartServer(
      "retry_schedule_seconds: [0]",
      {"--ca_bundle=" + certs().ca_file(), "--allowed_cidrs=127.0.0.0/8"}));
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/hook")));
  ASSERT_OK(Publish({"e1"}));
  ASSERT_OK_AND_ASSIGN(Attempts attempts,
                       WaitForResolvedAttempts(admin(), sub.id(), 1));
  EXPECT_EQ(attempts[0].status(), v1::DeliveryAttempt::FAILED);
  EXPECT_THAT(attempts[0].message(),
              StartsWith("The TLS connection to the remote server failed: "));
  // curl checks the name once the handshake is done, then hangs up before
  // sending the request.
  EXPECT_GE(receiver_->connections(), 1);
  EXPECT_THAT(receiver_->Requests(), IsEmpty());
}

}  // namespace
}  // namespace webhooks::e2e
