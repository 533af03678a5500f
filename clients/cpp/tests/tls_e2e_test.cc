// The C++ SDK over TLS with client certificates (mTLS) against a real
// webhookd: the server's certificate and the CA come from the tests/ harness;
// a client certificate is issued here with the `openssl` CLI.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/api_client.h"
#include "tests/server_process.h"
#include "tests/test_certificates.h"
#include "webhooks/client/client.h"

namespace webhooks::client {
namespace {

using ::webhooks::e2e::ServerProcess;
using ::webhooks::e2e::TestCertificates;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

constexpr char kClientExtensions[] = R"(
[v3_client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
)";

// A client certificate and key signed by the test CA, in a temporary
// directory removed by the destructor.
class ClientCertificate {
 public:
  explicit ClientCertificate(const TestCertificates& ca) {
    char pattern[] = "/tmp/webhookd-cpp-client-cert-XXXXXX";
    if (mkdtemp(pattern) == nullptr) return;
    dir_ = pattern;
    std::ofstream(dir_ + "/client.cnf") << kClientExtensions;
    const std::string command =
        "cd '" + dir_ + "' && (" +
        "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
        "-out client.key && "
        "openssl req -new -key client.key -subj /CN=cpp-sdk-client "
        "-out client.csr && "
        "openssl x509 -req -in client.csr -CA '" +
        ca.ca_file() + "' -CAkey '" + ca.dir() +
        "/ca.key' -set_serial 3 -days 1 -sha256 "
        "-extfile client.cnf -extensions v3_client -out client.pem"
        ") >openssl.log 2>&1";
    ok_ = std::system(command.c_str()) == 0;
  }
  ~ClientCertificate() {
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }
  bool ok() const { return ok_; }
  std::string cert_pem() const { return ReadFile(dir_ + "/client.pem"); }
  std::string key_pem() const { return ReadFile(dir_ + "/client.key"); }
  std::string log() const { return ReadFile(dir_ + "/openssl.log"); }

 private:
  std::string dir_;
  bool ok_ = false;
};

TEST(TlsE2eTest, MutualTlsWithRootCaAndClientCertificate) {
  absl::StatusOr<const TestCertificates*> certs = TestCertificates::Shared();
  ASSERT_TRUE(certs.ok()) << certs.status();
  ClientCertificate client_cert(**certs);
  ASSERT_TRUE(client_cert.ok()) << client_cert.log();

  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      e2e::TokensConfig() + "tls { cert_file: \"" + (*certs)->cert_file() +
      "\" key_file: \"" + (*certs)->key_file() + "\" client_ca_file: \"" +
      (*certs)->ca_file() + "\" }\n");
  ASSERT_TRUE(server.ok()) << server.status();

  ClientOptions options;
  options.address = (*server)->address();
  options.root_ca_pem = ReadFile((*certs)->ca_file());
  options.client_cert_pem = client_cert.cert_pem();
  options.client_key_pem = client_cert.key_pem();
  options.bearer_token = e2e::kAdminToken;
  options.call_timeout = absl::Seconds(20);
  absl::StatusOr<std::unique_ptr<Client>> admin = Client::Create(options);
  ASSERT_TRUE(admin.ok()) << admin.status();
  absl::StatusOr<v1::ListDialectsResponse> dialects = (*admin)->Call(
      &v1::DialectService::Stub::ListDialects, v1::ListDialectsRequest());
  ASSERT_TRUE(dialects.ok()) << dialects.status();
  EXPECT_GT(dialects->dialects_size(), 0);

  // Checked against "localhost" (the certificate names it too), as the
  // publisher.
  ClientOptions by_name = options;
  by_name.server_name_override = "localhost";
  by_name.bearer_token = e2e::kPublisherToken;
  absl::StatusOr<std::unique_ptr<Client>> publisher = Client::Create(by_name);
  ASSERT_TRUE(publisher.ok()) << publisher.status();
  EXPECT_EQ((*publisher)->GetTransaction("none").status().code(),
            absl::StatusCode::kNotFound);

  // Without a client certificate the handshake fails.
  ClientOptions no_cert = options;
  no_cert.client_cert_pem.clear();
  no_cert.client_key_pem.clear();
  absl::StatusOr<std::unique_ptr<Client>> anonymous = Client::Create(no_cert);
  ASSERT_TRUE(anonymous.ok()) << anonymous.status();
  EXPECT_EQ((*anonymous)->GetTransaction("none").status().code(),
            absl::StatusCode::kUnavailable);

  // Without the test CA (the system's roots) the server is not trusted.
  ClientOptions untrusted = options;
  untrusted.root_ca_pem.clear();
  absl::StatusOr<std::unique_ptr<Client>> stranger = Client::Create(untrusted);
  ASSERT_TRUE(stranger.ok()) << stranger.status();
  EXPECT_EQ((*stranger)->GetTransaction("none").status().code(),
            absl::StatusCode::kUnavailable);

  if (HasFailure()) (*server)->DumpLog();
}

}  // namespace
}  // namespace webhooks::client
