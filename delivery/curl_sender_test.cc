#include "delivery/curl_sender.h"

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "absl/strings/str_cat.h"
#include "delivery/sender_test_util.h"
#include "delivery/test_http_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

// Every test talks to a TestHttpServer on 127.0.0.1. Timeouts are generous
// (the machine may be loaded); nothing asserts on speed.

namespace webhooks::delivery {
namespace {

using core::HttpRequest;
using core::HttpResult;
using Outcome = core::HttpResult::Outcome;
using testing::Answer;
using testing::Delayed;
using testing::MakeSender;
using testing::Post;
using testing::ReceivedRequest;
using testing::ScriptedResponse;
using testing::SendAndWait;
using testing::TestHttpServer;
using testing::TestOptions;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

class CurlSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    server_.Handle("/ok", [](const ReceivedRequest&) {
      return Answer(200, "OK", "thanks", {{"X-Reply", "yes"}});
    });
  }
  TestHttpServer server_;
};

TEST_F(CurlSenderTest, PostArrivesAsSentAndResponseIsCaptured) {
  auto sender = MakeSender(TestOptions());
  ASSERT_NE(sender, nullptr);
  HttpRequest request = Post(server_.Url("/ok?x=1"), R"({"a":1})");
  request.headers.emplace_back("User-Agent", "webhookd-test/1");
  request.headers.emplace_back("webhook-id", "msg_1");
  request.headers.emplace_back("X-Empty", "");
  const HttpResult result = SendAndWait(*sender, request);

  EXPECT_EQ(result.outcome, Outcome::kResponse) << result.error;
  EXPECT_EQ(result.status_code, 200);
  EXPECT_EQ(result.reason, "OK");
  EXPECT_EQ(result.body, "thanks");
  EXPECT_FALSE(result.body_truncated);
  EXPECT_THAT(result.headers, Contains(Pair("X-Reply", "yes")));
  EXPECT_GT(result.elapsed, absl::ZeroDuration());

  const std::vector<ReceivedRequest> received = server_.requests();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].method, "POST");
  EXPECT_EQ(received[0].path, "/ok?x=1");
  EXPECT_EQ(received[0].body, R"({"a":1})");
  std::vector<std::pair<std::string, std::string>> headers =
      received[0].headers;
  EXPECT_THAT(headers,
              UnorderedElementsAre(
                  Pair("Host", absl::StrCat("127.0.0.1:", server_.port())),
                  Pair("Content-Length", "7"),
                  Pair("Content-Type", "application/json"),
                  Pair("User-Agent", "webhookd-test/1"),
                  Pair("webhook-id", "msg_1"), Pair("X-Empty", "")));
}

TEST_F(CurlSenderTest, PutAndPatchCarryTheirBodies) {
  auto sender = MakeSender(TestOptions());
  ASSERT_NE(sender, nullptr);
  HttpRequest put = Post(server_.Url("/ok"), "put-body");
  put.method = "PUT";
  HttpRequest patch = Post(server_.Url("/ok"), "");
  patch.method = "PATCH";
  EXPECT_EQ(SendAndWait(*sender, put).status_code, 200);
  EXPECT_EQ(SendAndWait(*sender, patch).status_code, 200);
  const std::vector<ReceivedRequest> received = server_.requests();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[0].method, "PUT");
  EXPECT_EQ(received[0].body, "put-body");
  EXPECT_EQ(received[1].method, "PATCH");
  EXPECT_EQ(received[1].body, "");
  EXPECT_EQ(received[1].Header("Content-Length"), "0");
  EXPECT_EQ(received[1].Header("Expect"), "");
}

// Sent one after the other, these reuse one easy handle: nothing of a
// transfer (method, headers, body) may carry over to the next.
TEST_F(CurlSenderTest, ReusedHandleKeepsNothingOfThePreviousTransfer) {
  auto sender = MakeSender(TestOptions());
  ASSERT_NE(sender, nullptr);
  HttpRequest put = Post(server_.Url("/ok"), "first");
  put.method = "PUT";
  put.headers.push_back({"X-Only-First", "1"});
  HttpRequest post = Post(server_.Url("/ok"), "second, longer body");
  HttpRequest empty = Post(server_.Url("/ok"), "");
  EXPECT_EQ(SendAndWait(*sender, put).status_code, 200);
  EXPECT_EQ(SendAndWait(*sender, post).status_code, 200);
  EXPECT_EQ(SendAndWait(*sender, empty).status_code, 200);
  const std::vector<ReceivedRequest> received = server_.requests();
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(received[0].method, "PUT");
  EXPECT_EQ(received[0].Header("X-Only-First"), "1");
  EXPECT_EQ(received[1].method, "POST");
  EXPECT_EQ(received[1].body, "second, longer body");
  EXPECT_EQ(received[1].Header("X-Only-First"), "");
  EXPECT_EQ(received[2].method, "POST");
  EXPECT_EQ(received[2].body, "");
  EXPECT_EQ(received[2].Header("Content-Length"), "0");
}

// Many headers, long values and empty ones all arrive as sent.
TEST_F(CurlSenderTest, ManyHeadersArriveAsSent) {
  auto sender = MakeSender(TestOptions());
  ASSERT_NE(sender, nullptr);
  HttpRequest request = Post(server_.Url("/ok"), "many");
  // Header i's value: empty for every seventh, else 20 * i + 1 letters.
  const auto value_of = [](int i) {
    return i % 7 == 3 ? std::string()
                      : std::string(static_cast<size_t>(20 * i + 1),
                                    static_cast<char>('a' + i % 26));
  };
  for (int i = 0; i < 40; ++i) {
    request.headers.push_back({absl::StrCat("X-H", i), value_of(i)});
  }
  EXPECT_EQ(SendAndWait(*sender, request).status_code, 200);
  const std::vector<ReceivedRequest> received = server_.requests();
  ASSERT_EQ(received.size(), 1u);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(received[0].Header(absl::StrCat("X-H", i)), value_of(i)) << i;
  }
  // An empty value is sent as an empty header, not dropped.
  int empty = 0;
  for (const auto& [name, value] : received[0].headers) {
    if (absl::StartsWith(name, "X-H") && value.empty()) ++empty;
  }
  EXPECT_EQ(empty, 6);
}

TEST_F(CurlSenderTest, StatusCodesAreResponses) {
  server_.Handle("/204", [](const ReceivedRequest&) {
    return Answer(204, "No Content");
  });
  server_.Handle("/410", [](const ReceivedRequest&) {
    return Answer(410, "Gone", "gone for good");
  });
  server_.Handle("/503", [](const ReceivedRequest&) {
    return Answer(503, "Service Unavailable", "busy",
                  {{"Retry-After", "120"}});
  });
  auto sender = MakeSender(TestOptions());
  ASSERT_NE(sender, nullptr);

  HttpResult r204 = SendAndWait(*sender, Post(server_.Url("/204")));
  EXPECT_EQ(r204.outcome, Outcome::kResponse);
  EXPECT_EQ(r204.status_code, 204);
  EXPECT_EQ(r204.body, "");
  HttpResult r410 = SendAndWait(*sender, Post(server_.Url("/410")));
  EXPECT_EQ(r410.status_code, 410);
  EXPECT_EQ(r410.reason, "Gone");
  EXPECT_EQ(r410.body, "gone for good");
  HttpResult r503 = SendAndWait(*sender, Post(server_.Url("/503")));
  EXPECT_EQ(r503.status_code, 503);
  EXPECT_EQ(r503.reason, "Service Unavailable");
  EXPECT_THAT(r503.headers, Contains(Pair("Retry-After", "120")));
  HttpResult r404 = SendAndWait(*sender, Post(server_.Url("/missing")));
  EXPECT_EQ(r404.status_code, 404);
  EXPECT_EQ(server_.connections(), 1);  // kept alive throughout
}

TEST_F(CurlSenderTest, RedirectIsNotFollowed) {
  server_.Handle("/moved", [this](const ReceivedRequest&) {
    return Answer(302, "Found", "", {{"Location", server_.Url("/ok")}});
  });
  auto sender = MakeSender(TestOptions());
  ASSERT_NE(sender, nullptr);
  const HttpResult result = SendAndWait(*sender, Post(server_.Url("/moved")));
  EXPECT_EQ(result.outcome, Outcome::kResponse);
  EXPECT_EQ(result.status_code, 302);
  EXPECT_THAT(result.headers, Contains(Pair("Location", server_.Url("/ok"))));
  ASSERT_EQ(server_.requests().size(), 1u);
  EXPECT_EQ(server_.requests()[0].path, "/moved");
}

TEST_F(CurlSenderTest, TotalTimeout) {
  server_.Handle("/hang", [](const ReceivedRequest&) {
    return Delayed(absl::Seconds(120));
  });
  CurlSenderOptions options = TestOptions();
  options.total_timeout = absl::Seconds(1);
  auto sender = MakeSender(options);
  ASSERT_NE(sender, nullptr);
  const HttpResult result = SendAndWait(*sender, Post(server_.Url("/hang")));
  EXPECT_EQ(result.outcome, Outcome::kTimeout);
  EXPECT_THAT(result.error, HasSubstr("imed out"));
}

TEST_F(CurlSenderTest, SlowAnswerWithinTimeout) {
  server_.Handle("/slow", [](const ReceivedRequest&) {
    return Delayed(absl::Milliseconds(500));
  });
  auto sender = MakeSender(TestOptions());
  ASSERT_NE(sender, nullptr);
  const HttpResult result = SendAndWait(*sender, Post(server_.Url("/slow")));
  EXPECT_EQ(result.outcome, Outcome::kResponse) << result.error;
  EXPECT_EQ(result.body, "late");
}

TEST_F(CurlSenderTest, ClosedOrResetWithoutAnswerIsConnectError) {
  server_.Handle("/close", [](const ReceivedRequest&) {
    ScriptedResponse response;
    response.action = ScriptedResponse::Action::kClose;
    return response;
  });
  server_.Handle("/reset", [](const ReceivedRequest&) {
    ScriptedResponse response;
    response.action = ScriptedResponse::Action::kReset;
    return response;
  });
  auto sender = MakeSender(TestOptions());
  ASSERT_NE(sender, nullptr);
  const HttpResult closed = SendAndWait(*sender, Post(server_.Url("/close")));
  EXPECT_EQ(closed.outcome, Outcome::kConnectError);
  EXPECT_FALSE(closed.error.empty());
  const HttpResult reset = SendAndWait(*sender, Post(server_.Url("/reset")));
  EXPECT_EQ(reset.outcome, Outcome::kConnectError);
  EXPECT_FALSE(reset.error.empty());
  // The sender carries on afterwards.
  EXPECT_EQ(SendAndWait(*sender, Post(server_.Url("/ok"))).status_code, 200);
}

TEST_F(CurlSenderTest, UnresolvableOrClosedIsConnectError) {
  auto sender = MakeSender(TestOptions());
  ASSERT_NE(sender, nullptr);
  const HttpResult unresolvable =
      SendAndWait(*sender, Post("http://no-such-host.invalid/hook"));
  EXPECT_EQ(unresolvable.outcome, Outcome::kConnectError);
  EXPECT_THAT(unresolvable.error, HasSubstr("resolve"));
  TestHttpServer closed;
  ASSERT_TRUE(closed.Start().ok());
  const std::string url = closed.Url("/ok");
  closed.Stop();  // nothing listens on the port any more
  const HttpResult refused = SendAndWait(*sender, Post(url));
  EXPECT_EQ(refused.outcome, Outcome::kConnectError);
  EXPECT_FALSE(refused.error.empty());
}

TEST_F(CurlSenderTest, LargeBodyIsCappedAndTruncated) {
  server_.Handle("/big", [](const ReceivedRequest&) {
    return Answer(200, "OK", std::string(1 << 20, 'x'),
                  {{"X-Size", "1MiB"}});
  });
  CurlSenderOptions options = TestOptions();
  options.max_response_body = 1000;
  auto sender = MakeSender(options);
  ASSERT_NE(sender, nullptr);
  const HttpResult result = SendAndWait(*sender, Post(server_.Url("/big")));
  EXPECT_EQ(result.outcome, Outcome::kResponse) << result.error;
  EXPECT_EQ(result.status_code, 200);
  EXPECT_EQ(result.body, std::string(1000, 'x'));
  EXPECT_TRUE(result.body_truncated);
  EXPECT_THAT(result.headers, Contains(Pair("X-Size", "1MiB")));
  EXPECT_EQ(SendAndWait(*sender, Post(server_.Url("/ok"))).body, "thanks");
}

// The sender reuses its finished transfers: a response (headers, a
// truncated body) or a refusal of one must not show in the next result.
TEST_F(CurlSenderTest, ReusedTransferKeepsNothingOfThePreviousResult) {
  server_.Handle("/big", [](const ReceivedRequest&) {
    return Answer(200, "OK", std::string(1 << 20, 'x'), {{"X-Size", "1MiB"}});
  });
  server_.Handle("/empty", [](const ReceivedRequest&) {
    return Answer(204, "No Content", "", {});
  });
  CurlSenderOptions options = TestOptions();
  options.max_response_body = 1000;
  options.max_in_flight = 1;  // one transfer, reused every time
  auto sender = MakeSender(options);
  ASSERT_NE(sender, nullptr);
  const HttpResult big = SendAndWait(*sender, Post(server_.Url("/big")));
  ASSERT_EQ(big.outcome, Outcome::kResponse) << big.error;
  EXPECT_TRUE(big.body_truncated);
  const HttpResult empty = SendAndWait(*sender, Post(server_.Url("/empty")));
  ASSERT_EQ(empty.outcome, Outcome::kResponse) << empty.error;
  EXPECT_EQ(empty.status_code, 204);
  EXPECT_EQ(empty.reason, "No Content");
  EXPECT_EQ(empty.body, "");
  EXPECT_FALSE(empty.body_truncated);
  for (const auto& [name, value] : empty.headers) EXPECT_NE(name, "X-Size");

  // 127.0.0.2 is not in allowed_cidrs (127.0.0.1/32).
  std::string elsewhere = server_.Url("/ok");
  elsewhere.replace(elsewhere.find("127.0.0.1"), 9, "127.0.0.2");
  const HttpResult refused = SendAndWait(*sender, Post(elsewhere));
  EXPECT_EQ(refused.outcome, Outcome::kRefusedAddress) << refused.error;
  const HttpResult ok = SendAndWait(*sender, Post(server_.Url("/ok")));
  EXPECT_EQ(ok.outcome, Outcome::kResponse) << ok.error;
  EXPECT_EQ(ok.body, "thanks");
  EXPECT_EQ(ok.error, "");
}

TEST_F(CurlSenderTest, LoopbackRefusedWithoutConnecting) {
  CurlSenderOptions options = TestOptions();
  options.allowed_cidrs.clear();
  auto sender = MakeSender(options);
  ASSERT_NE(sender, nullptr);
  const HttpResult result = SendAndWait(*sender, Post(server_.Url("/ok")));
  EXPECT_EQ(result.outcome, Outcome::kRefusedAddress);
  EXPECT_EQ(result.error,
            "refused to connect to 127.0.0.1: loopback address (not in "
            "allowed_cidrs)");
  EXPECT_EQ(server_.connections(), 0);
}

TEST_F(CurlSenderTest, HostNameResolvingToLoopbackRefused) {
  CurlSenderOptions options = TestOptions();
  options.allowed_cidrs = {"10.0.0.0/8"};
  auto sender = MakeSender(options);
  ASSERT_NE(sender, nullptr);
  const std::string url = absl::StrCat("http://localhost:", server_.port(), "/ok");
  const HttpResult result = SendAndWait(*sender, Post(url));
  EXPECT_EQ(result.outcome, Outcome::kRefusedAddress) << result.error;
  EXPECT_THAT(result.error, HasSubstr("loopback address"));
  EXPECT_EQ(server_.connections(), 0);
}

TEST_F(CurlSenderTest, HostNameAllowedWhenItsAddressIsListed) {
  auto sender = MakeSender(TestOptions());  // 127.0.0.1/32 but not ::1
  ASSERT_NE(sender, nullptr);
  const std::string url = absl::StrCat("http://localhost:", server_.port(), "/ok");
  const HttpResult result = SendAndWait(*sender, Post(url));
  EXPECT_EQ(result.outcome, Outcome::kResponse) << result.error;
  EXPECT_EQ(result.status_code, 200);
}

TEST_F(CurlSenderTest, RejectedWithoutNetwork) {
  CurlSenderOptions options = TestOptions();
  options.allow_http = false;
  auto sender = MakeSender(options);
  ASSERT_NE(sender, nullptr);
  const HttpResult http = SendAndWait(*sender, Post(server_.Url("/ok")));
  EXPECT_EQ(http.outcome, Outcome::kRejected);
  EXPECT_THAT(http.error, HasSubstr("https"));

  auto lenient = MakeSender(TestOptions());
  ASSERT_NE(lenient, nullptr);
  EXPECT_EQ(SendAndWait(*lenient, Post("ftp://127.0.0.1/x")).outcome,
            Outcome::kRejected);
  EXPECT_EQ(SendAndWait(*lenient, Post("not a url")).outcome,
            Outcome::kRejected);
  HttpRequest get = Post(server_.Url("/ok"));
  get.method = "GET";
  EXPECT_EQ(SendAndWait(*lenient, get).outcome, Outcome::kRejected);
  HttpRequest length = Post(server_.Url("/ok"));
  length.headers.emplace_back("Content-Length", "99");
  EXPECT_EQ(SendAndWait(*lenient, length).outcome, Outcome::kRejected);
  HttpRequest injected = Post(server_.Url("/ok"));
  injected.headers.emplace_back("X-A", "1\r\nX-B: 2");
  EXPECT_EQ(SendAndWait(*lenient, injected).outcome, Outcome::kRejected);
  EXPECT_EQ(server_.connections(), 0);
}

TEST(CurlSenderCreateTest, BadOptions) {
  CurlSenderOptions options = TestOptions();
  options.allowed_cidrs = {"127.0.0.1/32", "10.0.0.0/33"};
  absl::StatusOr<std::unique_ptr<CurlSender>> sender =
      CurlSender::Create(options);
  EXPECT_EQ(sender.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(sender.status().message()),
              HasSubstr("allowed_cidrs[1]"));
  options = TestOptions();
  options.ca_bundle = "/nonexistent/ca.pem";
  sender = CurlSender::Create(options);
  EXPECT_EQ(sender.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(sender.status().message()), HasSubstr("ca_bundle"));
  options = TestOptions();
  options.max_per_destination = 0;
  EXPECT_EQ(CurlSender::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = TestOptions();
  options.max_idle_connections = -1;
  sender = CurlSender::Create(options);
  EXPECT_EQ(sender.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(sender.status().message()),
              HasSubstr("max_idle_connections"));
}

}  // namespace
}  // namespace webhooks::delivery
