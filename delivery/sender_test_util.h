// Helpers shared by the CurlSender tests: options that let a sender reach
// 127.0.0.1, a callback collector, and response builders for
// TestHttpServer handlers.
#ifndef WEBHOOKS_DELIVERY_SENDER_TEST_UTIL_H_
#define WEBHOOKS_DELIVERY_SENDER_TEST_UTIL_H_

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "core/http_sender.h"
#include "delivery/curl_sender.h"
#include "delivery/test_http_server.h"
#include "gtest/gtest.h"

namespace webhooks::delivery::testing {

using core::HttpRequest;
using core::HttpResult;

inline constexpr absl::Duration kWait = absl::Seconds(60);

inline CurlSenderOptions TestOptions() {
  CurlSenderOptions options;
  options.allow_http = true;
  options.allowed_cidrs = {"127.0.0.1/32"};
  options.connect_timeout = absl::Seconds(20);
  options.total_timeout = absl::Seconds(40);
  return options;
}

inline std::unique_ptr<CurlSender> MakeSender(const CurlSenderOptions& options) {
  absl::StatusOr<std::unique_ptr<CurlSender>> sender =
      CurlSender::Create(options);
  EXPECT_TRUE(sender.ok()) << sender.status();
  return sender.ok() ? *std::move(sender) : nullptr;
}

inline HttpRequest Post(std::string url, std::string body = "{}") {
  return HttpRequest{std::move(url), "POST",
                     {{"Content-Type", "application/json"}}, std::move(body)};
}

// Collects callbacks by request number, counting calls.
class Results {
 public:
  core::HttpCallback Callback(int id) {
    return [this, id](HttpResult result) {
      absl::MutexLock lock(&mu_);
      ++calls_[id];
      order_.push_back(id);
      results_[id] = std::move(result);
      off_thread_ = off_thread_ && std::this_thread::get_id() != test_thread_;
    };
  }
  bool WaitFor(size_t n) {
    auto enough = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return order_.size() >= n;
    };
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&enough), kWait);
  }
  HttpResult Get(int id) {
    absl::MutexLock lock(&mu_);
    return results_[id];
  }
  std::map<int, int> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  std::vector<int> order() {
    absl::MutexLock lock(&mu_);
    return order_;
  }
  bool all_off_test_thread() {
    absl::MutexLock lock(&mu_);
    return off_thread_;
  }

 private:
  const std::thread::id test_thread_ = std::this_thread::get_id();
  absl::Mutex mu_;
  std::map<int, int> calls_ ABSL_GUARDED_BY(mu_);
  std::map<int, HttpResult> results_ ABSL_GUARDED_BY(mu_);
  std::vector<int> order_ ABSL_GUARDED_BY(mu_);
  bool off_thread_ ABSL_GUARDED_BY(mu_) = true;
};

inline HttpResult SendAndWait(CurlSender& sender, HttpRequest request) {
  // Shared, so that a callback arriving after a timed-out wait is harmless.
  auto results = std::make_shared<Results>();
  sender.Send(std::move(request),
              [results, callback = results->Callback(0)](HttpResult r) {
                callback(std::move(r));
              });
  EXPECT_TRUE(results->WaitFor(1)) << "no callback";
  EXPECT_TRUE(results->all_off_test_thread());
  return results->Get(0);
}

inline ScriptedResponse Answer(int status, std::string reason, std::string body = "",
                        core::HttpHeaders headers = {}) {
  ScriptedResponse response;
  response.status = status;
  response.reason = std::move(reason);
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

inline ScriptedResponse Delayed(absl::Duration delay) {
  ScriptedResponse response = Answer(200, "OK", "late");
  response.delay = delay;
  return response;
}

// Makes `server`'s "/held" answer 200 "released" once `release` is notified
// (which must outlive the server's handler threads), or after kWait.
inline void HandleHeld(TestHttpServer& server, absl::Notification& release) {
  server.Handle("/held", [&release](const ReceivedRequest&) {
    release.WaitForNotificationWithTimeout(kWait);
    return Answer(200, "OK", "released");
  });
}

// `n` started TestHttpServers (each a destination of its own) that answer
// "/ok" at once and "/held" once `release` is notified (see HandleHeld).
inline std::vector<std::unique_ptr<TestHttpServer>> StartServers(
    int n, absl::Notification& release) {
  std::vector<std::unique_ptr<TestHttpServer>> servers;
  for (int i = 0; i < n; ++i) {
    servers.push_back(std::make_unique<TestHttpServer>());
    EXPECT_TRUE(servers.back()->Start().ok());
    servers.back()->Handle("/ok", [](const ReceivedRequest&) {
      return Answer(200, "OK", "thanks");
    });
    HandleHeld(*servers.back(), release);
  }
  return servers;
}

// A TestHttpServer on 127.0.0.1 that answers "/ok" at once, "/slow" after
// 200 ms and "/held" once release_ is notified (at TearDown at the latest).
class SenderServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    server_.Handle("/ok", [](const ReceivedRequest&) {
      return Answer(200, "OK", "thanks");
    });
    server_.Handle("/slow", [](const ReceivedRequest&) {
      return Delayed(absl::Milliseconds(200));
    });
    HandleHeld(server_, release_);
  }
  void TearDown() override {
    if (!release_.HasBeenNotified()) release_.Notify();
    server_.Stop();
  }

  absl::Notification release_;  // outlives the server's handler threads
  TestHttpServer server_;
};

}  // namespace webhooks::delivery::testing

#endif  // WEBHOOKS_DELIVERY_SENDER_TEST_UTIL_H_
