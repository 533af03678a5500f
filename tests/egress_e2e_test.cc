// Egress end to end (issue 13): a real webhookd, a real HTTPS receiver and a
// real CONNECT proxy started by the test. Deliveries go through the proxy
// when one is set (bypass_proxy opts out); destinations the SSRF guard
// refuses stay refused and no CONNECT is sent for them; a proxy that is down
// is named in the attempt, as is one that refuses the tunnel; an https://
// proxy is verified with the CA bundle. Client certificates (mTLS):
// validated when set, never returned, presented to a receiver that
// requires one; a receiver that requires one and gets none fails with a
// plain attempt message.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/connect_proxy.h"
#include "tests/delivery_fixture.h"
#include "tests/matchers.h"

namespace webhooks::e2e {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class EgressE2eTest : public DeliveryE2eTest {
 protected:
  void StartProxy() { ASSERT_OK_AND_ASSIGN(proxy_, ConnectProxy::Start()); }

  // The last resolved attempt of `subscription_id` (after waiting for one).
  absl::StatusOr<v1::DeliveryAttempt> ResolvedAttempt(
      std::string_view subscription_id) {
    absl::StatusOr<Attempts> attempts =
        WaitForResolvedAttempts(admin(), subscription_id, 1);
    if (!attempts.ok()) return attempts.status();
    return Resolved(*attempts).front();
  }

  v1::ClientCertificate ClientCert() const {
    v1::ClientCertificate cert;
    cert.set_certificate_pem(ReadFile(certs().client_cert_file()));
    cert.set_private_key_pem(ReadFile(certs().client_key_file()));
    return cert;
  }

  std::unique_ptr<ConnectProxy> proxy_;
};

TEST_F(EgressE2eTest, DeliveriesGoThroughTheProxyUnlessBypassed) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartProxy());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer(
      "retry_schedule_seconds: [0]", {"--proxy_url=" + proxy_->Url()}));
  // By name: the proxy is asked for the address webhookd resolved and
  // checked, while TLS still verifies the name.
  ASSERT_OK_AND_ASSIGN(v1::Subscription proxied,
                       Subscribe(receiver_->Url("/proxied", "localhost")));
  v1::Subscription direct = SubscriptionTo(receiver_->Url("/direct"));
  direct.set_bypass_proxy(true);
  ASSERT_OK_AND_ASSIGN(direct, admin().CreateSubscription(direct));
  EXPECT_TRUE(direct.bypass_proxy());

  ASSERT_OK(Publish({"e1"}));
  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait, "/proxied"));
  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait, "/direct"));
  ASSERT_OK_AND_ASSIGN(v1::DeliveryAttempt attempt,
                       ResolvedAttempt(proxied.id()));
  EXPECT_EQ(attempt.status(), v1::DeliveryAttempt::SUCCESSFUL)
      << attempt.message();
  EXPECT_EQ(receiver_->Requests("/proxied")[0].Header("host"),
            StrCat("localhost:", receiver_->port()));
  EXPECT_THAT(proxy_->Targets(),
              ElementsAre(StrCat("127.0.0.1:", receiver_->port())));
  EXPECT_EQ(receiver_->Requests("/direct")[0].body, EventBody("e1"));
}

TEST_F(EgressE2eTest, AnHttpsProxyIsVerifiedWithTheCaBundle) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_OK_AND_ASSIGN(proxy_, ConnectProxy::Start(&certs()));
  ASSERT_THAT(proxy_->Url(), ::testing::StartsWith("https://"));
  ASSERT_NO_FATAL_FAILURE(StartTlsServer(
      "retry_schedule_seconds: [0]", {"--proxy_url=" + proxy_->Url()}));
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub, Subscribe(receiver_->Url("/h")));
  ASSERT_OK(Publish({"e1"}));
  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait, "/h"));
  EXPECT_THAT(proxy_->Targets(),
              ElementsAre(StrCat("127.0.0.1:", receiver_->port())));
}

TEST_F(EgressE2eTest, AnHttpsProxyWithAnUnknownCertificateFails) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_OK_AND_ASSIGN(proxy_, ConnectProxy::Start(&certs()));
  // Without --ca_bundle the test CA is unknown (system CAs only).
  ASSERT_NO_FATAL_FAILURE(StartServer(
      "retry_schedule_seconds: [0]",
      {"--allowed_cidrs=127.0.0.1/32", "--proxy_url=" + proxy_->Url()}));
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub, Subscribe(receiver_->Url("/h")));
  ASSERT_OK(Publish({"e1"}));
  ASSERT_OK_AND_ASSIGN(v1::DeliveryAttempt attempt, ResolvedAttempt(sub.id()));
  EXPECT_EQ(attempt.status(), v1::DeliveryAttempt::FAILED);
  EXPECT_THAT(attempt.message(),
              AllOf(HasSubstr(StrCat("egress proxy ", proxy_->Url(), ": ")),
                    HasSubstr("certificate")));
  EXPECT_THAT(proxy_->Targets(), IsEmpty());
  EXPECT_EQ(receiver_->connections(), 0);
}

TEST_F(EgressE2eTest, PlainHttpTargetsAreTunnelledToo) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver(/*tls=*/false));
  ASSERT_NO_FATAL_FAILURE(StartProxy());
  ASSERT_NO_FATAL_FAILURE(StartServer(
      "retry_schedule_seconds: [0]",
      {"--allow_http_targets", "--allowed_cidrs=127.0.0.1/32",
       "--proxy_url=" + proxy_->Url()}));
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub, Subscribe(receiver_->Url("/h")));
  ASSERT_OK(Publish({"e1"}));
  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait, "/h"));
  EXPECT_THAT(proxy_->Targets(),
              ElementsAre(StrCat("127.0.0.1:", receiver_->port())));
}

TEST_F(EgressE2eTest, RefusedDestinationsStayRefusedThroughTheProxy) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartProxy());
  // No allowed_cidrs: loopback, link-local and private addresses are
  // refused, although the proxy itself (on loopback) may be used.
  ASSERT_NO_FATAL_FAILURE(StartServer(
      "retry_schedule_seconds: [0]",
      {"--ca_bundle=" + certs().ca_file(), "--proxy_url=" + proxy_->Url()}));
  ASSERT_OK_AND_ASSIGN(v1::Subscription metadata,
                       Subscribe("https://169.254.169.254/latest/meta-data"));
  ASSERT_OK_AND_ASSIGN(v1::Subscription private_net,
                       Subscribe("https://10.1.2.3:8443/hook"));
  ASSERT_OK_AND_ASSIGN(v1::Subscription loopback,
                       Subscribe(receiver_->Url("/hook", "localhost")));
  ASSERT_OK(Publish({"e1"}));
  ASSERT_OK_AND_ASSIGN(v1::DeliveryAttempt a1, ResolvedAttempt(metadata.id()));
  EXPECT_EQ(a1.status(), v1::DeliveryAttempt::FAILED);
  EXPECT_THAT(a1.message(),
              HasSubstr("refused to connect to 169.254.169.254: link-local"));
  ASSERT_OK_AND_ASSIGN(v1::DeliveryAttempt a2,
                       ResolvedAttempt(private_net.id()));
  EXPECT_THAT(a2.message(), HasSubstr("refused to connect to 10.1.2.3"));
  ASSERT_OK_AND_ASSIGN(v1::DeliveryAttempt a3, ResolvedAttempt(loopback.id()));
  EXPECT_THAT(a3.message(), AllOf(HasSubstr("refused to connect to"),
                                  HasSubstr("loopback address")));
  // Refused before the proxy was involved.
  EXPECT_THAT(proxy_->Targets(), IsEmpty());
  EXPECT_EQ(proxy_->connections(), 0);
  EXPECT_EQ(receiver_->connections(), 0);
}

// "scheme://user:password@host:port": the credentials go to the proxy with
// each CONNECT (Basic), and nowhere else: not into the log, the attempt or
// the messages that name the proxy.
TEST_F(EgressE2eTest, AnAuthenticatingProxyGetsTheCredentialsOfTheUrl) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_OK_AND_ASSIGN(proxy_, ConnectProxy::Start(&certs()));
  proxy_->RequireBasicAuth("egress", "s@cret:1");
  const std::string url = StrCat("https://egress:s%40cret%3A1@127.0.0.1:",
                                 proxy_->port());
  ASSERT_NO_FATAL_FAILURE(
      StartTlsServer("retry_schedule_seconds: [0]", {"--proxy_url=" + url}));
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub, Subscribe(receiver_->Url("/h")));
  ASSERT_OK(Publish({"e1"}));
  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait, "/h"));
  ASSERT_OK_AND_ASSIGN(v1::DeliveryAttempt attempt, ResolvedAttempt(sub.id()));
  EXPECT_EQ(attempt.status(), v1::DeliveryAttempt::SUCCESSFUL)
      << attempt.message();
  EXPECT_EQ(proxy_->authorized(), 1);
  EXPECT_EQ(proxy_->unauthorized(), 0);
  EXPECT_THAT(server_->Log(), Not(HasSubstr("cret")));
}

TEST_F(EgressE2eTest, RefusedProxyCredentialsAreNamedWithoutThePassword) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartProxy());
  proxy_->RequireBasicAuth("egress", "right");
  for (const std::string& credentials : {std::string("egress:wrong-pw@"),
                                         std::string()}) {
    SCOPED_TRACE(credentials);
    ASSERT_NO_FATAL_FAILURE(StartTlsServer(
        "retry_schedule_seconds: [0]",
        {StrCat("--proxy_url=http://", credentials, "127.0.0.1:",
                proxy_->port())}));
    ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                         Subscribe(receiver_->Url("/h")));
    ASSERT_OK(Publish({StrCat("e", credentials.size())}));
    ASSERT_OK_AND_ASSIGN(v1::DeliveryAttempt attempt,
                         ResolvedAttempt(sub.id()));
    EXPECT_EQ(attempt.status(), v1::DeliveryAttempt::FAILED);
    EXPECT_THAT(attempt.message(),
                AllOf(HasSubstr(StrCat("egress proxy ", proxy_->Url(),
                                       " answered CONNECT with 407")),
                      Not(HasSubstr("wrong-pw"))));
    EXPECT_THAT(server_->Log(), Not(HasSubstr("wrong-pw")));
  }
  EXPECT_EQ(proxy_->authorized(), 0);
  EXPECT_EQ(proxy_->unauthorized(), 2);
  EXPECT_EQ(receiver_->connections(), 0);
}

TEST_F(EgressE2eTest, AProxyThatIsDownIsNamedInTheAttempt) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartProxy());
  const std::string url = proxy_->Url();
  proxy_->Stop();  // nothing listens on its port any more
  ASSERT_NO_FATAL_FAILURE(
      StartTlsServer("retry_schedule_seconds: [0]", {"--proxy_url=" + url}));
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub, Subscribe(receiver_->Url("/h")));
  ASSERT_OK(Publish({"e1"}));
  ASSERT_OK_AND_ASSIGN(v1::DeliveryAttempt attempt, ResolvedAttempt(sub.id()));
  EXPECT_EQ(attempt.status(), v1::DeliveryAttempt::FAILED);
  EXPECT_THAT(attempt.message(), HasSubstr(StrCat("egress proxy ", url, ": ")));
  EXPECT_EQ(receiver_->connections(), 0);
}

TEST_F(EgressE2eTest, AProxyRefusingTheTunnelIsNamedInTheAttempt) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartProxy());
  proxy_->RefuseConnects();
  ASSERT_NO_FATAL_FAILURE(StartTlsServer(
      "retry_schedule_seconds: [0]", {"--proxy_url=" + proxy_->Url()}));
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub, Subscribe(receiver_->Url("/h")));
  ASSERT_OK(Publish({"e1"}));
  ASSERT_OK_AND_ASSIGN(v1::DeliveryAttempt attempt, ResolvedAttempt(sub.id()));
  EXPECT_EQ(attempt.status(), v1::DeliveryAttempt::FAILED);
  EXPECT_THAT(attempt.message(),
              HasSubstr(StrCat("egress proxy ", proxy_->Url(),
                               " answered CONNECT with 403")));
  EXPECT_EQ(proxy_->Targets().size(), 1u);
  EXPECT_EQ(receiver_->connections(), 0);
}

TEST_F(EgressE2eTest, ClientCertificatesAreCheckedAndTheKeyNeverReturned) {
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("retry_schedule_seconds: [0]"));
  const std::string field = "subscription.client_certificate";
  v1::Subscription s = SubscriptionTo("https://hooks.example.com/h");

  *s.mutable_client_certificate() = ClientCert();
  s.mutable_client_certificate()->set_certificate_pem("not a certificate");
  EXPECT_THAT(admin().CreateSubscription(s),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(field + ".certificate_pem: holds no PEM")));
  *s.mutable_client_certificate() = ClientCert();
  s.mutable_client_certificate()->set_private_key_pem(
      ReadFile(certs().key_file()));  // the server's key: another pair
  EXPECT_THAT(admin().CreateSubscription(s),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(field + ".private_key_pem: does not belong")));
  s.mutable_client_certificate()->set_private_key_pem("");
  EXPECT_THAT(admin().CreateSubscription(s),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(field + ".private_key_pem is required")));
  s.mutable_client_certificate()->set_private_key_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  EXPECT_THAT(admin().CreateSubscription(s),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(field + ".private_key_pem: is not an")));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> none,
                       admin().ListAllSubscriptions());
  EXPECT_THAT(none, IsEmpty());

  *s.mutable_client_certificate() = ClientCert();
  ASSERT_OK_AND_ASSIGN(v1::Subscription created, admin().CreateSubscription(s));
  ASSERT_OK_AND_ASSIGN(v1::Subscription got,
                       admin().GetSubscription(created.id()));
  for (const v1::Subscription& returned : {created, got}) {
    EXPECT_EQ(returned.client_certificate().certificate_pem(),
              ClientCert().certificate_pem());
    EXPECT_EQ(returned.client_certificate().private_key_pem(), "");
    EXPECT_EQ(returned.client_certificate().subject(), "CN=webhookd-client");
    EXPECT_TRUE(returned.client_certificate().has_expire_time());
  }

  // A bad replacement leaves the stored one as it was; unset removes it.
  v1::Subscription change;
  change.set_id(created.id());
  change.mutable_client_certificate()->set_certificate_pem("x");
  EXPECT_THAT(admin().UpdateSubscription(change, {"client_certificate"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(field + ".private_key_pem is required")));
  ASSERT_OK_AND_ASSIGN(got, admin().GetSubscription(created.id()));
  EXPECT_EQ(got.client_certificate().subject(), "CN=webhookd-client");
  change.clear_client_certificate();
  change.set_bypass_proxy(true);
  ASSERT_OK_AND_ASSIGN(
      v1::Subscription updated,
      admin().UpdateSubscription(change, {"client_certificate", "bypass_proxy"}));
  EXPECT_FALSE(updated.has_client_certificate());
  EXPECT_TRUE(updated.bypass_proxy());
}

TEST_F(EgressE2eTest, AReceiverRequiringAClientCertificateGetsIt) {
  ASSERT_OK_AND_ASSIGN(const TestCertificates* certs,
                       TestCertificates::Shared());
  certs_ = certs;
  ASSERT_OK_AND_ASSIGN(receiver_, HttpsReceiver::StartRequiringClientCert(certs));
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("retry_schedule_seconds: [0]"));
  v1::Subscription with = SubscriptionTo(receiver_->Url("/with"));
  *with.mutable_client_certificate() = ClientCert();
  ASSERT_OK_AND_ASSIGN(with, admin().CreateSubscription(with));
  ASSERT_OK_AND_ASSIGN(v1::Subscription without,
                       Subscribe(receiver_->Url("/without")));
  ASSERT_OK(Publish({"e1"}));

  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait, "/with"));
  EXPECT_EQ(receiver_->Requests("/with")[0].client_subject,
            "CN=webhookd-client");
  ASSERT_OK_AND_ASSIGN(v1::DeliveryAttempt ok, ResolvedAttempt(with.id()));
  EXPECT_EQ(ok.status(), v1::DeliveryAttempt::SUCCESSFUL) << ok.message();

  ASSERT_OK_AND_ASSIGN(v1::DeliveryAttempt failed,
                       ResolvedAttempt(without.id()));
  EXPECT_EQ(failed.status(), v1::DeliveryAttempt::FAILED);
  EXPECT_THAT(failed.message(),
              HasSubstr("the receiver requires a TLS client certificate and "
                        "none is configured"));
  EXPECT_EQ(receiver_->Count("/without"), 0u);
}

TEST_F(EgressE2eTest, ADialectsCertificateServesSubscriptionsWithoutTheirOwn) {
  ASSERT_OK_AND_ASSIGN(const TestCertificates* certs,
                       TestCertificates::Shared());
  certs_ = certs;
  ASSERT_OK_AND_ASSIGN(receiver_, HttpsReceiver::StartRequiringClientCert(certs));
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("retry_schedule_seconds: [0]"));
  v1::Dialect dialect;
  dialect.set_name("partner");
  dialect.set_representation("webhook-delivery");
  *dialect.mutable_client_certificate() = ClientCert();
  dialect.mutable_client_certificate()->set_private_key_pem(
      ReadFile(certs->key_file()));
  EXPECT_THAT(admin().CreateDialect(dialect),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("dialect.client_certificate.private_key_pem: "
                                 "does not belong")));
  *dialect.mutable_client_certificate() = ClientCert();
  ASSERT_OK_AND_ASSIGN(v1::Dialect created, admin().CreateDialect(dialect));
  EXPECT_EQ(created.client_certificate().subject(), "CN=webhookd-client");
  EXPECT_EQ(created.client_certificate().private_key_pem(), "");
  ASSERT_OK_AND_ASSIGN(v1::Dialect got, admin().GetDialect("partner"));
  EXPECT_EQ(got.client_certificate().private_key_pem(), "");

  v1::Subscription s = SubscriptionTo(receiver_->Url("/partner"));
  s.set_dialect("partner");
  ASSERT_OK_AND_ASSIGN(s, admin().CreateSubscription(s));
  ASSERT_OK(Publish({"e1"}));
  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait, "/partner"));
  EXPECT_EQ(receiver_->Requests("/partner")[0].client_subject,
            "CN=webhookd-client");

  // Removed from the dialect: the next delivery presents none.
  v1::Dialect change;
  change.set_name("partner");
  ASSERT_OK_AND_ASSIGN(v1::Dialect updated,
                       admin().UpdateDialect(change, {"client_certificate"}));
  EXPECT_FALSE(updated.has_client_certificate());
}

TEST_F(EgressE2eTest, ClientCertificatesWorkThroughTheProxy) {
  ASSERT_OK_AND_ASSIGN(const TestCertificates* certs,
                       TestCertificates::Shared());
  certs_ = certs;
  ASSERT_OK_AND_ASSIGN(receiver_, HttpsReceiver::StartRequiringClientCert(certs));
  ASSERT_NO_FATAL_FAILURE(StartProxy());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("retry_schedule_seconds: [0]",
                                         {"--proxy_url=" + proxy_->Url()}));
  v1::Subscription with = SubscriptionTo(receiver_->Url("/with"));
  *with.mutable_client_certificate() = ClientCert();
  ASSERT_OK_AND_ASSIGN(with, admin().CreateSubscription(with));
  ASSERT_OK(Publish({"e1"}));
  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait, "/with"));
  EXPECT_EQ(receiver_->Requests("/with")[0].client_subject,
            "CN=webhookd-client");
  EXPECT_EQ(proxy_->Targets().size(), 1u);
}

TEST_F(EgressE2eTest, TheConfigFileDeclaresCertificatesAndBypass) {
  ASSERT_OK_AND_ASSIGN(const TestCertificates* certs,
                       TestCertificates::Shared());
  certs_ = certs;
  ASSERT_OK_AND_ASSIGN(receiver_, HttpsReceiver::StartRequiringClientCert(certs));
  ASSERT_NO_FATAL_FAILURE(StartProxy());
  auto config = [&](const std::string& key_file) {
    return StrCat(
        DeliveryConfig(StrCat("retry_schedule_seconds: [0] proxy_url: \"",
                              proxy_->Url(), "\"")),
        "subscriptions { site: \"/\" resource_type: \"user\" "
        "event_type: \"added\" target_url: \"", receiver_->Url("/static"),
        "\" bypass_proxy: true client_certificate { certificate_pem: \"",
        absl::CEscape(ReadFile(certs->client_cert_file())),
        "\" private_key_pem: \"", absl::CEscape(ReadFile(key_file)),
        "\" } }\n");
  };
  // The server's key with the client's certificate: refused at start-up.
  absl::StatusOr<std::unique_ptr<ServerProcess>> refused =
      ServerProcess::Start(config(certs->key_file()), TlsFlags(*certs));
  EXPECT_THAT(refused.status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("config subscriptions[0]: subscription."
                                 "client_certificate.private_key_pem: does "
                                 "not belong")));
  ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start(
                                    config(certs->client_key_file()),
                                    TlsFlags(*certs)));
  admin_.emplace(server_->NewChannel(), kAdminToken);
  publisher_.emplace(admin_->WithToken(kPublisherToken));
  ASSERT_OK(Publish({"e1"}));
  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait, "/static"));
  EXPECT_EQ(receiver_->Requests("/static")[0].client_subject,
            "CN=webhookd-client");
  EXPECT_THAT(proxy_->Targets(), IsEmpty());  // bypass_proxy
}

TEST_F(EgressE2eTest, ABadProxyUrlStopsStartUp) {
  for (const char* bad : {"socks5://127.0.0.1:1080", "http://127.0.0.1",
                          "http://127.0.0.1:3128/path",
                          "http://:pw@127.0.0.1:3128",
                          "http://u:p%zz@127.0.0.1:3128"}) {
    absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
        DeliveryConfig(""), {StrCat("--proxy_url=", bad)});
    EXPECT_THAT(server.status(),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("proxy_url: ")))
        << bad;
  }
}

}  // namespace
}  // namespace webhooks::e2e
