#include "server/metrics_http_server.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/metrics_test_client.h"

namespace webhooks::server {
namespace {

using metrics_testing::ConnectLoopback;
using metrics_testing::HttpGet;
using metrics_testing::HttpReply;
using metrics_testing::RawHttp;
using ::testing::HasSubstr;
using ::testing::Not;

class MetricsHttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    counter_ = *registry_.AddCounter("webhookd_test_total", "A test counter.");
  }

  std::unique_ptr<MetricsHttpServer> MustStart(
      MetricsHttpServer::Options options = {}) {
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
        MetricsHttpServer::Start("127.0.0.1:0", &registry_, options);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return nullptr;
    EXPECT_GT((*server)->port(), 0);
    return *std::move(server);
  }

  MetricsRegistry registry_;
  Counter* counter_ = nullptr;
};

TEST_F(MetricsHttpServerTest, ServesTheRegistryAndSeesItChange) {
  auto server = MustStart();
  ASSERT_NE(server, nullptr);
  HttpReply first = HttpGet(server->port(), "/metrics");
  ASSERT_TRUE(first.ok) << first.raw;
  EXPECT_EQ(first.status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(first.Header("Content-Type"),
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(first.Header("Connection"), "close");
  EXPECT_EQ(first.Header("Content-Length"), std::to_string(first.body.size()));
  EXPECT_EQ(first.body, registry_.Render());
  EXPECT_THAT(first.body, HasSubstr("# TYPE webhookd_test_total counter\n"
                                    "webhookd_test_total 0\n"));

  counter_->Increment(3);
  HttpReply second = HttpGet(server->port(), "/metrics?name=x");
  EXPECT_EQ(second.status_line, "HTTP/1.1 200 OK");
  EXPECT_THAT(second.body, HasSubstr("\nwebhookd_test_total 3\n"));
}

TEST_F(MetricsHttpServerTest, OtherPathsAreNotFound) {
  auto server = MustStart();
  ASSERT_NE(server, nullptr);
  for (const char* path : {"/", "/metricsx", "/metrics/", "/favicon.ico"}) {
    HttpReply reply = HttpGet(server->port(), path);
    EXPECT_EQ(reply.status_line, "HTTP/1.1 404 Not Found") << path;
    EXPECT_EQ(reply.Header("Connection"), "close");
    EXPECT_THAT(reply.body, Not(HasSubstr("webhookd_test_total")));
  }
}

TEST_F(MetricsHttpServerTest, HeadHasNoBodyAndOtherMethodsAreRefused) {
  auto server = MustStart();
  ASSERT_NE(server, nullptr);
  HttpReply head = RawHttp(server->port(), "HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(head.status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.Header("Content-Length"),
            std::to_string(registry_.Render().size()));
  HttpReply post = RawHttp(
      server->port(), "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(post.status_line, "HTTP/1.1 405 Method Not Allowed");
  EXPECT_EQ(post.Header("Allow"), "GET, HEAD");
}

TEST_F(MetricsHttpServerTest, BadAndOversizedRequests) {
  MetricsHttpServer::Options options;
  options.max_request_bytes = 256;
  auto server = MustStart(options);
  ASSERT_NE(server, nullptr);
  // libmicrohttpd closes a connection whose request line is not HTTP.
  EXPECT_FALSE(RawHttp(server->port(), "hello\r\n\r\n").ok);
  EXPECT_EQ(RawHttp(server->port(), "GET /metrics SPDY/3\r\n\r\n").status_line,
            "HTTP/1.1 400 Bad Request");
  // Bare LF line ends are accepted.
  EXPECT_EQ(RawHttp(server->port(), "GET /metrics HTTP/1.0\n\n").status_line,
            "HTTP/1.1 200 OK");
  const std::string big =
      "GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(300, 'a') + "\r\n\r\n";
  EXPECT_EQ(RawHttp(server->port(), big).status_line,
            "HTTP/1.1 431 Request Header Fields Too Large");
  // Still serving.
  EXPECT_EQ(HttpGet(server->port(), "/metrics").status_line, "HTTP/1.1 200 OK");
}

TEST_F(MetricsHttpServerTest, SlowClientIsDroppedAndOthersServed) {
  MetricsHttpServer::Options options;
  options.io_timeout = absl::Milliseconds(200);
  auto server = MustStart(options);
  ASSERT_NE(server, nullptr);
  const int idle = ConnectLoopback(server->port());
  ASSERT_GE(idle, 0);
  send(idle, "GET /met", 8, MSG_NOSIGNAL);  // and never finishes
  HttpReply reply = HttpGet(server->port(), "/metrics");
  EXPECT_EQ(reply.status_line, "HTTP/1.1 200 OK");
  char byte;
  EXPECT_EQ(recv(idle, &byte, 1, 0), 0);  // closed without an answer
  close(idle);
}

// One client sending a byte a second and thirty idle connections hold only
// their own connections: a scrape beside them is answered at once.
TEST_F(MetricsHttpServerTest, SlowAndIdleClientsDoNotDelayAScrape) {
  auto server = MustStart();
  ASSERT_NE(server, nullptr);
  std::vector<int> idle;
  for (int i = 0; i < 30; ++i) {
    const int fd = ConnectLoopback(server->port());
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  const int slow = ConnectLoopback(server->port());
  ASSERT_GE(slow, 0);
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    const std::string request = "GET /metrics HTTP/1.1\r\nX-Slow: aaaaaaaa";
    for (size_t i = 0; i < request.size() && !stop; ++i) {
      send(slow, &request[i], 1, MSG_NOSIGNAL);
      absl::SleepFor(absl::Seconds(1));
    }
  });
  absl::SleepFor(absl::Milliseconds(1500));  // both kinds in place
  for (int i = 0; i < 3; ++i) {
    const absl::Time start = absl::Now();
    HttpReply reply = HttpGet(server->port(), "/metrics");
    EXPECT_EQ(reply.status_line, "HTTP/1.1 200 OK");
    EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  }
  stop = true;
  trickle.join();
  close(slow);
  for (int fd : idle) close(fd);
}

TEST_F(MetricsHttpServerTest, StopsPromptlyWithAClientConnected) {
  MetricsHttpServer::Options options;
  options.io_timeout = absl::Seconds(60);
  auto server = MustStart(options);
  ASSERT_NE(server, nullptr);
  const int idle = ConnectLoopback(server->port());
  ASSERT_GE(idle, 0);
  send(idle, "G", 1, MSG_NOSIGNAL);
  absl::SleepFor(absl::Milliseconds(50));  // being served
  const absl::Time start = absl::Now();
  server.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  close(idle);
}

TEST_F(MetricsHttpServerTest, AddressErrors) {
  EXPECT_EQ(MetricsHttpServer::Start("nonsense", &registry_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      MetricsHttpServer::Start("127.0.0.1:99999", &registry_).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetricsHttpServer::Start("::1:80", &registry_).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto server = MustStart();
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(MetricsHttpServer::Start(
                "127.0.0.1:" + std::to_string(server->port()), &registry_)
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(MetricsHttpServerTest, BindsLocalhostAndIpv6Loopback) {
  auto by_name = MetricsHttpServer::Start("localhost:0", &registry_);
  ASSERT_TRUE(by_name.ok()) << by_name.status();
  EXPECT_GT((*by_name)->port(), 0);
  // IPv6 may be off in a container; only check that the form parses.
  auto v6 = MetricsHttpServer::Start("[::1]:0", &registry_);
  EXPECT_NE(v6.status().code(), absl::StatusCode::kInvalidArgument)
      << v6.status();
}

}  // namespace
}  // namespace webhooks::server
