// A small HTTP/1.1 server for the delivery tests, on 127.0.0.1 and an
// ephemeral port: a thread per connection, keep-alive, reads each whole
// request (Content-Length body) and answers from handlers chosen by path
// (404 otherwise). With a certificate and key it speaks TLS (OpenSSL).
// Counts connections and requests handled at once.
//
//   TestHttpServer server;
//   ASSERT_TRUE(server.Start().ok());
//   server.Handle("/hook", [](const ReceivedRequest& request) {
//     ScriptedResponse response;
//     response.status = 204;
//     response.reason = "No Content";
//     return response;
//   });
//   ... send to server.Url("/hook") ...
//   EXPECT_EQ(server.connections(), 1);
#ifndef WEBHOOKS_DELIVERY_TEST_HTTP_SERVER_H_
#define WEBHOOKS_DELIVERY_TEST_HTTP_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "core/http_sender.h"

namespace webhooks::delivery::testing {

struct ReceivedRequest {
  std::string method;
  std::string path;
  core::HttpHeaders headers;  // as received, in order
  std::string body;
  int connection = 0;  // 1 for the first connection accepted, ...

  // The first value of header `name` (any case); empty when absent.
  std::string Header(std::string_view name) const;
};

struct ScriptedResponse {
  enum class Action { kAnswer, kClose, kReset };
  int status = 200;
  std::string reason = "OK";
  core::HttpHeaders headers;  // Content-Length is added
  std::string body;
  absl::Duration delay;  // waited before answering; Stop cuts it short
  Action action = Action::kAnswer;  // kClose / kReset: no answer at all
};

using Handler = std::function<ScriptedResponse(const ReceivedRequest&)>;

class TestHttpServer {
 public:
  TestHttpServer();
  ~TestHttpServer();  // Stop()

  // Listens; with `cert_file` and `key_file` (PEM), serves HTTPS.
  absl::Status Start(const std::string& cert_file = "",
                     const std::string& key_file = "");
  // Closes the listener and every connection; joins all threads.
  void Stop();

  int port() const { return port_; }
  // "http://127.0.0.1:<port><path>" (https when serving TLS).
  std::string Url(std::string_view path) const;
  // Answers requests for exactly `path` (no query) with `handler`, which
  // runs on the connection's thread.
  void Handle(const std::string& path, Handler handler);

  int connections() const;     // accepted so far
  int max_concurrent() const;  // most requests being handled at once
  std::vector<ReceivedRequest> requests() const;
  // Waits until `n` requests have been received; false on timeout.
  bool WaitForRequests(size_t n, absl::Duration timeout) const;
  // Set when Stop begins; handlers may wait on it.
  const absl::Notification& stopping() const { return stopping_; }

 private:
  void AcceptLoop();
  void Serve(int fd, int ordinal);
  Handler HandlerFor(const std::string& path) const;

  int listen_fd_ = -1;
  int port_ = 0;
  void* tls_ = nullptr;  // SSL_CTX*, kept out of this header
  absl::Notification stopping_;
  std::thread accept_thread_;

  mutable absl::Mutex mu_;
  std::map<std::string, Handler> handlers_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  std::set<int> open_fds_ ABSL_GUARDED_BY(mu_);
  std::vector<ReceivedRequest> requests_ ABSL_GUARDED_BY(mu_);
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
  int max_active_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace webhooks::delivery::testing

#endif  // WEBHOOKS_DELIVERY_TEST_HTTP_SERVER_H_
