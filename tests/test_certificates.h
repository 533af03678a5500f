// A test CA, a server certificate it signs (subjectAltName IP:127.0.0.1
// and DNS:localhost, EC P-256, ten years) and a client certificate it
// signs (CN=webhookd-client), generated with the `openssl` CLI into a
// directory that the destructor removes: no key is committed. Used by the
// e2e tests and by bench/delivery_bench.
//
//   ASSERT_OK_AND_ASSIGN(const TestCertificates* certs,
//                        TestCertificates::Shared());
//   ... "--ca_bundle=" + certs->ca_file() ...
#ifndef WEBHOOKS_TESTS_TEST_CERTIFICATES_H_
#define WEBHOOKS_TESTS_TEST_CERTIFICATES_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"

namespace webhooks::e2e {

class TestCertificates {
 public:
  // Into a new temporary directory.
  static absl::StatusOr<std::unique_ptr<TestCertificates>> Generate();
  // Into `dir`, created (with parents) if missing.
  static absl::StatusOr<std::unique_ptr<TestCertificates>> GenerateIn(
      std::string dir);
  // Generated once per test binary, on first use; removed at exit.
  static absl::StatusOr<const TestCertificates*> Shared();

  TestCertificates(const TestCertificates&) = delete;
  TestCertificates& operator=(const TestCertificates&) = delete;
  ~TestCertificates();

  const std::string& dir() const { return dir_; }
  std::string ca_file() const { return dir_ + "/ca.pem"; }
  std::string cert_file() const { return dir_ + "/server.pem"; }
  std::string key_file() const { return dir_ + "/server.key"; }
  // A client certificate the CA signs (CN=webhookd-client, clientAuth), for
  // mTLS to receivers.
  std::string client_cert_file() const { return dir_ + "/client.pem"; }
  std::string client_key_file() const { return dir_ + "/client.key"; }

 private:
  explicit TestCertificates(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace webhooks::e2e

#endif  // WEBHOOKS_TESTS_TEST_CERTIFICATES_H_
