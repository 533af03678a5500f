#include "tests/test_certificates.h"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace webhooks::e2e {
namespace {

absl::Status WriteFile(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `command` in `dir` with output to dir/openssl.log.
absl::Status Run(const std::string& dir, const std::string& command) {
  const std::string line =
      absl::StrCat("cd '", dir, "' && ", command, " >>openssl.log 2>&1");
  if (std::system(line.c_str()) != 0) {
    return absl::InternalError(absl::StrCat(
        "`", command, "` failed: ", ReadFile(dir + "/openssl.log")));
  }
  return absl::OkStatus();
}

constexpr char kCaConfig[] = R"(
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = webhookd e2e test CA
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
)";

constexpr char kLeafConfig[] = R"(
[req]
distinguished_name = dn
prompt = no
[dn]
CN = 127.0.0.1
[v3_leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
authorityKeyIdentifier = keyid
[v3_client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
)";

}  // namespace

absl::StatusOr<std::unique_ptr<TestCertificates>> TestCertificates::Generate() {
  char pattern[] = "/tmp/webhookd-e2e-certs-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    return absl::InternalError("mkdtemp failed");
  }
  return GenerateIn(pattern);
}

absl::StatusOr<std::unique_ptr<TestCertificates>> TestCertificates::GenerateIn(
    std::string dir_path) {
  std::error_code error;
  std::filesystem::create_directories(dir_path, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("mkdir ", dir_path, ": ", error.message()));
  }
  std::unique_ptr<TestCertificates> certs(
      new TestCertificates(std::move(dir_path)));
  const std::string& dir = certs->dir_;
  if (absl::Status s = WriteFile(dir + "/ca.cnf", kCaConfig); !s.ok()) return s;
  if (absl::Status s = WriteFile(dir + "/leaf.cnf", kLeafConfig); !s.ok()) {
    return s;
  }
  for (const char* command : {
           "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
           "-out ca.key",
           "openssl req -x509 -new -config ca.cnf -key ca.key -sha256 "
           "-days 3650 -out ca.pem",
           "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
           "-out server.key",
           "openssl req -new -config leaf.cnf -key server.key -out server.csr",
           "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
           "-set_serial 2 -days 3650 -sha256 -extfile leaf.cnf "
           "-extensions v3_leaf -out server.pem",
           "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
           "-out client.key",
           "openssl req -new -key client.key -subj /CN=webhookd-client "
           "-out client.csr",
           "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key "
           "-set_serial 3 -days 3650 -sha256 -extfile leaf.cnf "
           "-extensions v3_client -out client.pem",
       }) {
    if (absl::Status s = Run(dir, command); !s.ok()) return s;
  }
  return certs;
}

absl::StatusOr<const TestCertificates*> TestCertificates::Shared() {
  // Destroyed at exit, which removes the directory.
  static absl::StatusOr<std::unique_ptr<TestCertificates>> shared = Generate();
  if (!shared.ok()) return shared.status();
  return shared->get();
}

TestCertificates::~TestCertificates() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace webhooks::e2e
