// Client certificate checks (core/client_certificate.h) and how the
// registry applies them: a certificate is checked whenever it is set, and
// one already expired is refused only then.
#include "core/client_certificate.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "core/registry_fixture.h"
#include "gtest/gtest.h"
#include "tests/test_certificates.h"

namespace webhooks::core {
namespace {

constexpr char kField[] = "subscription.client_certificate";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class ClientCertificateTest : public RegistryFixture {
 protected:
  void SetUp() override {
    RegistryFixture::SetUp();
    absl::StatusOr<const e2e::TestCertificates*> certs =
        e2e::TestCertificates::Shared();
    ASSERT_TRUE(certs.ok()) << certs.status();
    cert_ = ReadFile((*certs)->client_cert_file());
    key_ = ReadFile((*certs)->client_key_file());
    ca_ = ReadFile((*certs)->ca_file());
    other_key_ = ReadFile((*certs)->key_file());
  }

  absl::Status Check(const std::string& cert, const std::string& key) {
    return CheckClientCertificate(kField, cert, key).status();
  }

  std::string cert_, key_, ca_, other_key_;
};

void ExpectInvalid(const absl::Status& status, const std::string& message) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_TRUE(absl::StartsWith(status.message(), message)) << status;
}

TEST_F(ClientCertificateTest, ReadsTheFirstCertificateOfTheChain) {
  absl::StatusOr<ClientCertificateInfo> info =
      CheckClientCertificate(kField, cert_ + ca_, key_);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->subject, "CN=webhookd-client");
  EXPECT_GT(info->not_after, absl::Now() + absl::Hours(24 * 365 * 9));
  EXPECT_LT(info->not_before, absl::Now() + absl::Minutes(1));
}

TEST_F(ClientCertificateTest, NamesTheBadPart) {
  const std::string c = std::string(kField) + ".certificate_pem";
  const std::string k = std::string(kField) + ".private_key_pem";
  ExpectInvalid(Check("", key_), c + " is required");
  ExpectInvalid(Check(cert_, ""), k + " is required");
  ExpectInvalid(Check("hello", key_), c + ": holds no PEM certificate");
  ExpectInvalid(Check(cert_ + "-----BEGIN CERTIFICATE-----\nAAAA\n"
                              "-----END CERTIFICATE-----\n",
                      key_),
                c + ": certificate 2 is not valid PEM");
  ExpectInvalid(Check(cert_, cert_), k + ": is not an unencrypted PEM");
  ExpectInvalid(Check(cert_, other_key_),
                k + ": does not belong to the first certificate");
  ExpectInvalid(Check(ca_ + cert_, key_),
                k + ": does not belong to the first certificate");
  ExpectInvalid(Check(std::string(kMaxCertificateChainBytes + 1, 'x'), key_),
                c + ": longer than");
}

TEST_F(ClientCertificateTest, AnExpiredCertificateIsRefusedOnlyWhenSet) {
  SubscriptionRecord draft = Draft();
  draft.set_client_certificate_pem(cert_);
  draft.set_client_key_pem(key_);
  SubscriptionRecord created = MustCreate(draft);
  ASSERT_EQ(created.client_key_pem(), key_);

  absl::StatusOr<ClientCertificateInfo> info =
      CheckClientCertificate(kField, cert_, key_);
  ASSERT_TRUE(info.ok()) << info.status();
  clock_.Set(info->not_after + absl::Seconds(1));
  // Other changes keep the stored (now expired) certificate.
  SubscriptionRecord change;
  change.set_id(created.id());
  change.set_event_type("removed");
  absl::StatusOr<SubscriptionRecord> updated =
      registry_->Update(change, {"event_type"}, Scope::All());
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->client_certificate_pem(), cert_);
  // Setting it again, or creating with it, is refused.
  change.set_client_certificate_pem(cert_);
  change.set_client_key_pem(key_);
  ExpectInvalid(
      registry_->Update(change, {"client_certificate"}, Scope::All()).status(),
      std::string(kField) + ".certificate_pem: expired at ");
  ExpectInvalid(registry_->Create(draft, Scope::All()).status(),
                std::string(kField) + ".certificate_pem: expired at ");
}

}  // namespace
}  // namespace webhooks::core
