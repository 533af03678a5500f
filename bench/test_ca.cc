#include "bench/test_ca.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include "common/strings.h"

namespace webhooks::bench {
namespace {

constexpr char kCaConfig[] = R"(
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = webhookd delivery_bench CA
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
)";

absl::Status WriteFile(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(StrCat("cannot write ", path));
  return absl::OkStatus();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

absl::StatusOr<TestCa> MakeTestCa(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::InternalError(StrCat("mkdir ", dir, ": ", error.message()));
  if (absl::Status s = WriteFile(dir + "/ca.cnf", kCaConfig); !s.ok()) return s;
  if (absl::Status s = WriteFile(dir + "/leaf.cnf", kLeafConfig); !s.ok()) return s;
  for (const char* command : {
           "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
           "-out ca.key",
           "openssl req -x509 -new -config ca.cnf -key ca.key -sha256 "
           "-days 30 -out ca.pem",
           "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
           "-out server.key",
           "openssl req -new -config leaf.cnf -key server.key -out server.csr",
           "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
           "-set_serial 2 -days 30 -sha256 -extfile leaf.cnf "
           "-extensions v3_leaf -out server.pem",
       }) {
    const std::string line =
        StrCat("cd '", dir, "' && ", command, " >>openssl.log 2>&1");
    if (std::system(line.c_str()) != 0) {
      return absl::InternalError(StrCat("`", command, "` failed: ",
                                        ReadFile(dir + "/openssl.log")));
    }
  }
  return TestCa{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key"};
}

}  // namespace webhooks::bench
