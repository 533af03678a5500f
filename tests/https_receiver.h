// A real HTTPS (or plain HTTP) webhook receiver for end-to-end tests, built on
// OpenSSL: listens on 127.0.0.1 and an ephemeral port, a thread per
// connection, HTTP/1.1 keep-alive, Content-Length bodies. Replies are
// scripted per path (a queue consumed in order, then a default; 200 OK when
// nothing is scripted) and every request is recorded with its arrival time.
//
//   ASSERT_OK_AND_ASSIGN(const TestCertificates* certs,
//                        TestCertificates::Shared());
//   ASSERT_OK_AND_ASSIGN(auto receiver, HttpsReceiver::Start(certs));
//   receiver->QueueReplies("/hook", {Reply::Status(503)});
//   receiver->SetReply("/slow", Reply::Status(200).After(absl::Seconds(2)));
//   ... subscribe receiver->Url("/hook") ...
//   ASSERT_TRUE(receiver->WaitForRequests(2, absl::Seconds(30), "/hook"));
//   EXPECT_EQ(receiver->Requests("/hook")[0].Header("webhook-id"), ...);
#ifndef WEBHOOKS_TESTS_HTTPS_RECEIVER_H_
#define WEBHOOKS_TESTS_HTTPS_RECEIVER_H_

#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/test_certificates.h"

namespace webhooks::e2e {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct ReceivedRequest {
  std::string method;
  std::string path;    // the request target without the query
  HeaderList headers;  // as received, in order
  std::string body;
  absl::Time arrival;  // when the whole request had been read
  int connection = 0;  // 1 for the first connection accepted, ...
  // Subject of the client certificate presented (mTLS), RFC 2253 form:
  // "CN=webhookd-client"; empty when none was.
  std::string client_subject;

  // The first value of header `name` (any case); empty when absent.
  std::string Header(std::string_view name) const;
};

// What the receiver does with one request.
struct Reply {
  enum class Action {
    kAnswer,  // status, headers, body (after `delay`)
    kHang,    // never answers; the connection stays open until Stop()
    kReset,   // closes the connection with a TCP reset, no response
  };
  Action action = Action::kAnswer;
  int status = 200;
  std::string reason;  // empty: the standard phrase for `status`
  HeaderList headers;  // Content-Length is added
  std::string body;
  absl::Duration delay = absl::ZeroDuration();  // Stop() cuts it short

  static Reply Status(int status, std::string body = "");
  static Reply Hang();
  static Reply Reset();
  // 200 with a body of `bytes` bytes ("0123456789" repeated).
  static Reply Huge(size_t bytes);
  // `status` (e.g. 302) with `Location: location`.
  static Reply Redirect(int status, std::string location);

  Reply& WithHeader(std::string name, std::string value);
  Reply& After(absl::Duration wait);
};

// The standard reason phrase of `status` ("OK", "Gone", ...); "Status" for
// unknown codes.
std::string ReasonPhrase(int status);

class HttpsReceiver {
 public:
  // Serves HTTPS with `certificates` (which must outlive the receiver) on
  // `address` (an IPv4 loopback address) and an ephemeral port.
  static absl::StatusOr<std::unique_ptr<HttpsReceiver>> Start(
      const TestCertificates* certificates,
      const std::string& address = "127.0.0.1");
  // Serves HTTPS like Start and requires a client certificate that the test
  // CA signs (mTLS): a handshake without one fails.
  static absl::StatusOr<std::unique_ptr<HttpsReceiver>> StartRequiringClientCert(
      const TestCertificates* certificates);
  // Serves plain HTTP.
  static absl::StatusOr<std::unique_ptr<HttpsReceiver>> StartHttp(
      const std::string& address = "127.0.0.1");

  HttpsReceiver(const HttpsReceiver&) = delete;
  HttpsReceiver& operator=(const HttpsReceiver&) = delete;
  ~HttpsReceiver();  // Stop()

  // Closes the listener and every connection, ends hangs and delays, joins
  // every thread. Idempotent.
  void Stop();

  int port() const { return port_; }
  bool tls() const { return ssl_ctx_ != nullptr; }
  // "https://<address>:<port><path>" ("http://" without TLS); `host`, when
  // given, replaces the address (e.g. "localhost").
  std::string Url(std::string_view path, std::string_view host = "") const;

  // The reply to requests for `path` once its queue is empty.
  void SetReply(std::string_view path, Reply reply);
  // Replies to the next requests for `path`, in order.
  void QueueReplies(std::string_view path, std::vector<Reply> replies);

  // Every request so far in arrival order; or only those for `path`.
  std::vector<ReceivedRequest> Requests() const;
  std::vector<ReceivedRequest> Requests(std::string_view path) const;
  size_t Count(std::string_view path) const;
  // Connections accepted (including those whose TLS handshake failed).
  int connections() const;
  // TLS handshakes that failed.
  int handshake_failures() const;
  // Responses written completely.
  int answered() const;

  // Waits until at least `n` requests (for `path`; "" for any) arrived.
  bool WaitForRequests(size_t n, absl::Duration timeout,
                       std::string_view path = "") const;
  // Waits until at least `n` responses were written completely.
  bool WaitForAnswers(int n, absl::Duration timeout) const;
  // Waits until at least `n` TLS handshakes failed.
  bool WaitForHandshakeFailures(int n, absl::Duration timeout) const;

 private:

  HttpsReceiver() = default;
  absl::Status Listen(const TestCertificates* certificates,
                      const std::string& address, bool require_client_cert);
  void AcceptLoop();
  void Serve(int fd, int number);
  // The reply for the next request to `path`.
  Reply NextReply(const std::string& path) ABSL_LOCKS_EXCLUDED(mu_);
  // Waits for `wait` or Stop(); false when stopped.
  bool Sleep(absl::Duration wait) const ABSL_LOCKS_EXCLUDED(mu_);

  void* ssl_ctx_ = nullptr;  // SSL_CTX*; null for plain HTTP
  bool require_client_cert_ = false;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  std::string address_;
  int port_ = 0;
  std::thread accept_thread_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::deque<Reply>, std::less<>> queued_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, Reply, std::less<>> defaults_ ABSL_GUARDED_BY(mu_);
  std::vector<ReceivedRequest> requests_ ABSL_GUARDED_BY(mu_);
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
  int handshake_failures_ ABSL_GUARDED_BY(mu_) = 0;
  int answered_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace webhooks::e2e

#endif  // WEBHOOKS_TESTS_HTTPS_RECEIVER_H_
