// A throwaway CA and a server certificate it signs (subjectAltName
// IP:127.0.0.1 and DNS:localhost, EC P-256), made with the `openssl` CLI in
// a directory of the caller's choosing, for delivery_bench's HTTPS receiver.
// No key is committed.
//
//   ASSIGN_OR_RETURN(TestCa ca, MakeTestCa("/tmp/delivery_bench.x/ca"));
//   ... ReceiverOptions{.cert_file = ca.cert_file, .key_file = ca.key_file}
//   ... CurlSenderOptions{.ca_bundle = ca.ca_file}
#ifndef WEBHOOKS_BENCH_TEST_CA_H_
#define WEBHOOKS_BENCH_TEST_CA_H_

#include <string>

#include "absl/status/statusor.h"

namespace webhooks::bench {

struct TestCa {
  std::string ca_file;    // PEM: the CA certificate (the trust anchor)
  std::string cert_file;  // PEM: the server certificate
  std::string key_file;   // PEM: the server key
};

// Creates `dir` (and parents) and the files in it. INTERNAL, with openssl's
// output, when a command fails.
absl::StatusOr<TestCa> MakeTestCa(const std::string& dir);

}  // namespace webhooks::bench

#endif  // WEBHOOKS_BENCH_TEST_CA_H_
