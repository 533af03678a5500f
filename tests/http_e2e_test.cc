// The JSON-over-HTTP API (Connect protocol) of a real webhookd: every
// service reachable, errors as over gRPC with Connect's HTTP statuses, the
// protocol's own errors (404, 405, 413, 415, 400), WatchOutcomes as a Connect
// server stream, the OpenAPI description, and slow clients.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/raw_http_client.h"
#include "tests/api_client.h"
#include "tests/server_process.h"

namespace webhooks::e2e {
namespace {

using raw_http::ConnectLoopback;
using raw_http::HttpReply;
using raw_http::RawHttp;
using ::testing::HasSubstr;

struct JsonReply {
  int status = 0;
  std::string body;
  google::protobuf::Struct json;  // the body, when it is a JSON object
  std::string Str(const std::string& key) const {
    auto it = json.fields().find(key);
    return it == json.fields().end() ? "" : it->second.string_value();
  }
};

JsonReply Parse(const HttpReply& reply) {
  JsonReply out;
  const std::string_view line = reply.status_line;
  if (line.size() >= 12) {
    out.status = std::stoi(std::string(line.substr(9, 3)));
  }
  out.body = reply.body;
  (void)google::protobuf::util::JsonStringToMessage(reply.body, &out.json);
  return out;
}

JsonReply Post(int port, std::string_view path, std::string_view body,
               std::string_view token = kAdminToken,
               std::string_view type = "application/json") {
  std::string request = "POST " + std::string(path) +
                        " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                        "Content-Type: " + std::string(type) + "\r\n";
  if (!token.empty()) {
    request += "Authorization: Bearer " + std::string(token) + "\r\n";
  }
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  request += body;
  return Parse(RawHttp(port, request));
}

class HttpE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Written before the gRPC port file that Start waits for.
    const std::string port_file = ::testing::TempDir() + "http_port_" +
                                  std::to_string(getpid());
    ::unlink(port_file.c_str());
    absl::StatusOr<std::unique_ptr<ServerProcess>> started =
        ServerProcess::Start(TokensConfig() + " http { max_body_bytes: 4096 }",
                             {"--http_listen=127.0.0.1:0",
                              "--http_port_file=" + port_file});
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
    std::ifstream in(port_file);
    in >> port_;
    ::unlink(port_file.c_str());
    ASSERT_GT(port_, 0);
  }

  std::unique_ptr<ServerProcess> server_;
  int port_ = 0;
};

TEST_F(HttpE2eTest, EveryServiceIsReachableOverJson) {
  JsonReply created = Post(port_, "/webhooks.v1.SubscriptionService/CreateSubscription",
      R"({"subscription": {"site": "/NOAA", "resourceType": "user",
          "eventType": "added", "targetUrl": "https://hooks.example.com/x"}})");
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string id = created.Str("id");
  EXPECT_TRUE(absl::StartsWith(id, "sub_")) << created.body;
  EXPECT_EQ(created.Str("resourceType"), "user");  // lowerCamelCase names

  JsonReply listed = Post(port_, "/webhooks.v1.SubscriptionService/ListSubscriptions",
                          R"({"site": "/NOAA"})");
  EXPECT_EQ(listed.status, 200) << listed.body;
  EXPECT_THAT(listed.body, HasSubstr(id));

  JsonReply principal = Post(port_, "/webhooks.v1.PrincipalService/SetPrincipalGroups",
                             R"({"principal_id": "alice", "groups": ["g1"]})");
  EXPECT_EQ(principal.status, 200) << principal.body;
  EXPECT_THAT(principal.body, HasSubstr("g1"));

  JsonReply dialects = Post(port_, "/webhooks.v1.DialectService/ListDialects", "{}");
  EXPECT_EQ(dialects.status, 200) << dialects.body;

  JsonReply published = Post(port_, "/webhooks.v1.EventService/Publish",
      R"({"events": [{"id": "e1", "site": "/NOAA/x", "resourceTypes": ["user"],
          "eventTypes": ["added"],
          "representations": {"webhook-delivery": {"body": "e30="}}}]})",
      kPublisherToken);
  EXPECT_EQ(published.status, 200) << published.body;
  EXPECT_THAT(published.body, HasSubstr("\"deliveriesCreated\":\"1\""));

  JsonReply attempts = Post(port_, "/webhooks.v1.DeliveryService/ListAttempts",
                            "{\"subscriptionId\": \"" + id + "\"}");
  EXPECT_EQ(attempts.status, 200) << attempts.body;

  // Unknown fields are ignored (as Connect's implementations do).
  JsonReply unknown = Post(port_, "/webhooks.v1.DialectService/ListDialects",
                           R"({"noSuchField": 1})");
  EXPECT_EQ(unknown.status, 200) << unknown.body;
}

TEST_F(HttpE2eTest, InvalidArgumentIsTheSameAsOverGrpc) {
  Api api(server_->NewChannel(), kAdminToken);
  v1::Subscription bad = NewSubscription("NOAA");  // not an absolute path
  absl::StatusOr<v1::Subscription> over_grpc = api.CreateSubscription(bad);
  ASSERT_EQ(over_grpc.status().code(), absl::StatusCode::kInvalidArgument);
  JsonReply over_http = Post(port_, "/webhooks.v1.SubscriptionService/CreateSubscription",
      R"({"subscription": {"site": "NOAA", "resourceType": "user",
          "eventType": "added", "targetUrl": "https://hooks.example.com/hook"}})");
  EXPECT_EQ(over_http.status, 400);
  EXPECT_EQ(over_http.Str("code"), "invalid_argument");
  EXPECT_EQ(over_http.Str("message"), over_grpc.status().message());
  EXPECT_THAT(over_http.Str("message"), HasSubstr("subscription.site"));
}

TEST_F(HttpE2eTest, UnauthenticatedIs401) {
  Api api(server_->NewChannel(), "");
  absl::StatusOr<v1::ListDialectsResponse> over_grpc = api.ListDialects();
  ASSERT_EQ(over_grpc.status().code(), absl::StatusCode::kUnauthenticated);
  JsonReply none = Post(port_, "/webhooks.v1.DialectService/ListDialects", "{}", "");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.Str("code"), "unauthenticated");
  EXPECT_EQ(none.Str("message"), over_grpc.status().message());
  JsonReply unknown = Post(port_, "/webhooks.v1.DialectService/ListDialects", "{}",
                           kUnknownToken);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(unknown.Str("code"), "unauthenticated");
  // A subscriber may not touch principals: permission_denied is 403.
  JsonReply denied = Post(port_, "/webhooks.v1.PrincipalService/SetPrincipalGroups",
                          R"({"principalId": "bob"})", kAliceToken);
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_EQ(denied.Str("code"), "permission_denied");
}

TEST_F(HttpE2eTest, ProtocolErrors) {
  JsonReply unknown_method = Post(port_, "/webhooks.v1.SubscriptionService/Nope", "{}");
  EXPECT_EQ(unknown_method.status, 404);
  EXPECT_EQ(unknown_method.Str("code"), "unimplemented");
  EXPECT_EQ(Post(port_, "/grpc.health.v1.Health/Check", "{}").status, 404);
  EXPECT_EQ(Post(port_, "/", "{}").status, 404);

  HttpReply get = RawHttp(port_,
      "GET /webhooks.v1.DialectService/ListDialects HTTP/1.1\r\n"
      "Host: localhost\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(get.status_line, "HTTP/1.1 405 Method Not Allowed");
  EXPECT_EQ(get.Header("Allow"), "POST");

  JsonReply text = Post(port_, "/webhooks.v1.DialectService/ListDialects", "{}",
                        kAdminToken, "text/plain");
  EXPECT_EQ(text.status, 415);

  JsonReply big = Post(port_, "/webhooks.v1.DialectService/ListDialects",
                       "{\"pageToken\": \"" + std::string(5000, 'a') + "\"}");
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.Str("code"), "resource_exhausted");

  JsonReply malformed = Post(port_, "/webhooks.v1.SubscriptionService/CreateSubscription",
                             R"({"subscription": {"site": )");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(malformed.Str("code"), "invalid_argument");
  EXPECT_THAT(malformed.Str("message"),
              HasSubstr("could not be parsed as webhooks.v1.CreateSubscriptionRequest"));
  JsonReply wrong_type = Post(port_, "/webhooks.v1.SubscriptionService/ListSubscriptions",
                              R"({"pageSize": "many"})");
  EXPECT_EQ(wrong_type.status, 400);
  EXPECT_THAT(wrong_type.Str("message"), HasSubstr("page_size"));
}

// Connect server streaming: one enveloped request, enveloped outcomes.
TEST_F(HttpE2eTest, WatchOutcomesStreamsOverHttp) {
  JsonReply created = Post(port_, "/webhooks.v1.SubscriptionService/CreateSubscription",
      R"({"subscription": {"site": "/", "resourceType": "user",
          "eventType": "added", "targetUrl": "https://hooks.example.invalid/x"}})");
  ASSERT_EQ(created.status, 200) << created.body;
  const int fd = ConnectLoopback(port_);
  ASSERT_GE(fd, 0);
  const std::string message = "{}";
  std::string envelope(5, '\0');
  envelope[4] = static_cast<char>(message.size());
  envelope += message;
  const std::string request =
      "POST /webhooks.v1.DeliveryService/WatchOutcomes HTTP/1.1\r\n"
      "Host: localhost\r\nContent-Type: application/connect+json\r\n"
      "Authorization: Bearer " + std::string(kAdminToken) + "\r\n"
      "Content-Length: " + std::to_string(envelope.size()) + "\r\n\r\n" +
      envelope;
  ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string received;
  char buffer[4096];
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  bool published = false;
  while (absl::Now() < deadline &&
         received.find("ATTEMPT_FAILED") == std::string::npos) {
    if (!published && received.find("\r\n\r\n") != std::string::npos) {
      // The headers came: the watch is subscribed (the gateway answers only
      // then), so an event published now must show. One that fails to
      // deliver.
      JsonReply p = Post(port_, "/webhooks.v1.EventService/Publish",
          R"({"events": [{"id": "e1", "site": "/", "resourceTypes": ["user"],
              "eventTypes": ["added"],
              "representations": {"webhook-delivery": {"body": "e30="}}}]})",
          kPublisherToken);
      ASSERT_EQ(p.status, 200) << p.body;
      published = true;
    }
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    received.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  EXPECT_THAT(received, HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(received, HasSubstr("Content-Type: application/connect+json"));
  EXPECT_THAT(received, HasSubstr("\"kind\":\"ATTEMPT_FAILED\""));
  EXPECT_THAT(received, HasSubstr(created.Str("id")));
}

TEST_F(HttpE2eTest, StreamErrorsEndTheStream) {
  const std::string envelope = std::string("\0\0\0\0\2{}", 7);
  JsonReply denied = Post(port_, "/webhooks.v1.DeliveryService/WatchOutcomes",
                          envelope, "", "application/connect+json");
  EXPECT_EQ(denied.status, 200);  // Connect streams report errors at the end
  EXPECT_THAT(denied.body, HasSubstr("\"code\":\"unauthenticated\""));
  JsonReply unary_type = Post(port_, "/webhooks.v1.DeliveryService/WatchOutcomes",
                              "{}");
  EXPECT_EQ(unary_type.status, 415);
}

TEST_F(HttpE2eTest, OpenApiListsEveryUnaryRpc) {
  HttpReply reply = RawHttp(port_,
      "GET /openapi.json HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(reply.status_line, "HTTP/1.1 200 OK");
  google::protobuf::Struct document;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(reply.body, &document).ok());
  EXPECT_EQ(document.fields().at("openapi").string_value(), "3.0.3");
  const auto& paths = document.fields().at("paths").struct_value().fields();
  int unary = 0;
  for (const char* name :
       {"webhooks.v1.SubscriptionService", "webhooks.v1.PrincipalService",
        "webhooks.v1.DialectService", "webhooks.v1.EventService",
        "webhooks.v1.DeliveryService", "webhooks.v1.ApiKeyService"}) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* method = service->method(i);
      if (method->server_streaming()) continue;
      ++unary;
      const std::string path = "/" + service->full_name() + "/" + method->name();
      ASSERT_EQ(paths.count(path), 1u) << path;
      EXPECT_EQ(paths.at(path).struct_value().fields().count("post"), 1u) << path;
    }
  }
  EXPECT_EQ(static_cast<int>(paths.size()), unary);
}

// Thirty idle connections and one client sending a byte a second hold only
// their own connections: a call beside them is answered at once.
TEST_F(HttpE2eTest, SlowAndIdleClientsDoNotStallOthers) {
  std::vector<int> idle;
  for (int i = 0; i < 30; ++i) {
    const int fd = ConnectLoopback(port_);
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  const int slow = ConnectLoopback(port_);
  ASSERT_GE(slow, 0);
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    const std::string request =
        "POST /webhooks.v1.DialectService/ListDialects HTTP/1.1\r\nX-Slow: aaaa";
    for (size_t i = 0; i < request.size() && !stop; ++i) {
      send(slow, &request[i], 1, MSG_NOSIGNAL);
      absl::SleepFor(absl::Seconds(1));
    }
  });
  absl::SleepFor(absl::Milliseconds(1500));
  for (int i = 0; i < 3; ++i) {
    const absl::Time start = absl::Now();
    JsonReply reply = Post(port_, "/webhooks.v1.DialectService/ListDialects", "{}");
    EXPECT_EQ(reply.status, 200);
    EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  }
  stop = true;
  trickle.join();
  close(slow);
  for (int fd : idle) close(fd);
}

}  // namespace
}  // namespace webhooks::e2e
