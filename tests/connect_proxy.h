// A small HTTP CONNECT proxy for end-to-end tests: listens on 127.0.0.1 and
// an ephemeral port, records the target of every CONNECT it is asked for,
// connects to it (numeric addresses and names alike) and relays bytes both
// ways until either side closes. Anything but CONNECT gets 405; a target it
// cannot reach gets 502, and every CONNECT gets 403 after
// RefuseConnects(), and 407 without the credentials RequireBasicAuth
// names. A thread per connection.
//
//   ASSERT_OK_AND_ASSIGN(auto proxy, ConnectProxy::Start());
//   ... --proxy_url=proxy->Url() ...
//   EXPECT_THAT(proxy->Targets(), ElementsAre("127.0.0.1:8443"));
#ifndef WEBHOOKS_TESTS_CONNECT_PROXY_H_
#define WEBHOOKS_TESTS_CONNECT_PROXY_H_

#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/test_certificates.h"

namespace webhooks::e2e {

class ConnectProxy {
 public:
  // Plain HTTP; with `tls` (which must outlive the proxy), an https://
  // proxy with the test server certificate.
  static absl::StatusOr<std::unique_ptr<ConnectProxy>> Start(
      const TestCertificates* tls = nullptr);

  ConnectProxy(const ConnectProxy&) = delete;
  ConnectProxy& operator=(const ConnectProxy&) = delete;
  ~ConnectProxy();  // Stop()

  // Closes the listener and every connection, joins every thread.
  void Stop();

  int port() const { return port_; }
  // "http://127.0.0.1:<port>" ("https://" with TLS).
  std::string Url() const;
  // The request targets of the CONNECTs received, in order:
  // "127.0.0.1:8443".
  std::vector<std::string> Targets() const;
  // From now on answers every CONNECT with 403 Forbidden (still recorded).
  void RefuseConnects();
  // From now on answers 407 to every CONNECT without
  // "Proxy-Authorization: Basic <user:password>" (still recorded).
  void RequireBasicAuth(std::string_view user, std::string_view password);
  // CONNECTs that carried the required credentials, and those that did not.
  int authorized() const;
  int unauthorized() const;
  // Connections accepted.
  int connections() const;
  // Waits until at least `n` CONNECTs were received.
  bool WaitForTargets(size_t n, absl::Duration timeout) const;

 private:
  ConnectProxy() = default;
  void AcceptLoop();
  void Serve(int client_fd);

  void* ssl_ctx_ = nullptr;  // SSL_CTX*; null for plain HTTP
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread accept_thread_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> targets_ ABSL_GUARDED_BY(mu_);
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
  bool refuse_ ABSL_GUARDED_BY(mu_) = false;
  std::string required_authorization_ ABSL_GUARDED_BY(mu_);  // "" : none
  int authorized_ ABSL_GUARDED_BY(mu_) = 0;
  int unauthorized_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace webhooks::e2e

#endif  // WEBHOOKS_TESTS_CONNECT_PROXY_H_
