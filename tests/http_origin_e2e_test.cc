// Cross-origin browser calls to a real webhookd's JSON API: refused with
// 403 permission_denied unless the origin is in http.allowed_origins (or
// --http_allowed_origins), preflights answered only for allowed origins,
// same-origin calls and calls without Origin untouched, and the console's
// files served with their Content-Security-Policy from --console_dir.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api_client.h"
#include "tests/raw_http_client.h"
#include "tests/server_process.h"

namespace webhooks::e2e {
namespace {

using raw_http::HttpReply;
using raw_http::RawHttp;
using ::testing::HasSubstr;

constexpr char kList[] = "/webhooks.v1.SubscriptionService/ListSubscriptions";

class HttpOriginE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string suffix = std::to_string(getpid());
    const std::string port_file = ::testing::TempDir() + "origin_port_" + suffix;
    console_dir_ = ::testing::TempDir() + "origin_console_" + suffix;
    std::filesystem::create_directories(console_dir_ + "/assets");
    std::ofstream(console_dir_ + "/index.html") << "<!doctype html>console";
    std::ofstream(console_dir_ + "/assets/app-1.js") << "void 0";
    ::unlink(port_file.c_str());
    absl::StatusOr<std::unique_ptr<ServerProcess>> started =
        ServerProcess::Start(
            TokensConfig() +
                R"( http { allowed_origins: "https://ops.example.com" })",
            {"--http_listen=127.0.0.1:0", "--http_port_file=" + port_file,
             "--http_allowed_origins=http://localhost:5173",
             "--console_dir=" + console_dir_});
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
    std::ifstream in(port_file);
    in >> port_;
    ::unlink(port_file.c_str());
    ASSERT_GT(port_, 0);
    host_ = "127.0.0.1:" + std::to_string(port_);
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(console_dir_);
  }

  // A ListSubscriptions call as a browser page at `origin` makes it.
  HttpReply Call(std::string_view origin, std::string_view extra = "") {
    std::string request = "POST " + std::string(kList) +
                          " HTTP/1.1\r\nHost: " + host_ +
                          "\r\nConnection: close\r\n"
                          "Content-Type: application/json\r\n"
                          "Authorization: Bearer " + std::string(kAdminToken) +
                          "\r\nContent-Length: 2\r\n";
    if (!origin.empty()) request += "Origin: " + std::string(origin) + "\r\n";
    request += std::string(extra) + "\r\n{}";
    return RawHttp(port_, request);
  }

  HttpReply Preflight(std::string_view origin, std::string_view method) {
    return RawHttp(port_,
                   "OPTIONS " + std::string(kList) + " HTTP/1.1\r\nHost: " +
                       host_ + "\r\nConnection: close\r\nOrigin: " +
                       std::string(origin) +
                       "\r\nAccess-Control-Request-Method: " +
                       std::string(method) +
                       "\r\nAccess-Control-Request-Headers: "
                       "authorization,content-type\r\n\r\n");
  }

  std::unique_ptr<ServerProcess> server_;
  std::string console_dir_;
  std::string host_;
  int port_ = 0;
};

TEST_F(HttpOriginE2eTest, CallsWithoutOriginOrFromTheSameOriginPass) {
  HttpReply plain = Call("");
  EXPECT_EQ(plain.status_line, "HTTP/1.1 200 OK") << plain.body;
  EXPECT_EQ(plain.Header("Access-Control-Allow-Origin"), "");
  HttpReply same = Call("http://" + host_);
  EXPECT_EQ(same.status_line, "HTTP/1.1 200 OK") << same.body;
  EXPECT_EQ(same.Header("Access-Control-Allow-Origin"), "");
}

TEST_F(HttpOriginE2eTest, OtherOriginsAreRefusedBeforeTheCall) {
  for (const char* origin : {"https://evil.example", "null",
                             "http://127.0.0.1:1", "http://ops.example.com"}) {
    HttpReply refused = Call(origin);
    EXPECT_EQ(refused.status_line, "HTTP/1.1 403 Forbidden") << origin;
    EXPECT_THAT(refused.body, HasSubstr(R"("code":"permission_denied")"));
    EXPECT_THAT(refused.body, HasSubstr(origin));
    EXPECT_THAT(refused.body, HasSubstr("http.allowed_origins"));
    EXPECT_EQ(refused.Header("Access-Control-Allow-Origin"), "") << origin;
  }
  // A write refused changes nothing: no subscription was created.
  HttpReply create = RawHttp(port_,
      "POST /webhooks.v1.SubscriptionService/CreateSubscription HTTP/1.1\r\n"
      "Host: " + host_ + "\r\nConnection: close\r\nOrigin: https://evil.example\r\n"
      "Content-Type: application/json\r\nAuthorization: Bearer " +
      std::string(kAdminToken) + "\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(create.status_line, "HTTP/1.1 403 Forbidden");
  HttpReply listed = Call("");
  EXPECT_EQ(listed.body, "{}");
}

TEST_F(HttpOriginE2eTest, AllowedOriginsFromConfigAndFlagGetCors) {
  for (const char* origin : {"https://ops.example.com", "http://localhost:5173"}) {
    HttpReply reply = Call(origin);
    EXPECT_EQ(reply.status_line, "HTTP/1.1 200 OK") << origin << reply.body;
    EXPECT_EQ(reply.Header("Access-Control-Allow-Origin"), origin);
    EXPECT_EQ(reply.Header("Vary"), "Origin");
  }
}

TEST_F(HttpOriginE2eTest, PreflightsAreAnsweredOnlyForAllowedOrigins) {
  HttpReply allowed = Preflight("https://ops.example.com", "POST");
  EXPECT_EQ(allowed.status_line, "HTTP/1.1 204 No Content") << allowed.raw;
  EXPECT_EQ(allowed.Header("Access-Control-Allow-Origin"),
            "https://ops.example.com");
  EXPECT_THAT(allowed.Header("Access-Control-Allow-Headers"),
              HasSubstr("authorization"));
  EXPECT_EQ(allowed.Header("Access-Control-Allow-Methods"), "POST, GET");

  HttpReply evil = Preflight("https://evil.example", "POST");
  EXPECT_EQ(evil.status_line, "HTTP/1.1 403 Forbidden");
  EXPECT_THAT(evil.body, HasSubstr("preflight refused"));
  EXPECT_EQ(evil.Header("Access-Control-Allow-Origin"), "");

  HttpReply put = Preflight("https://ops.example.com", "PUT");
  EXPECT_EQ(put.status_line, "HTTP/1.1 403 Forbidden");
  EXPECT_THAT(put.body, HasSubstr("is not allowed (POST, GET)"));
}

TEST_F(HttpOriginE2eTest, ConsoleIsServedWithItsPolicyBesideTheApi) {
  HttpReply index = RawHttp(port_, "GET / HTTP/1.1\r\nHost: " + host_ +
                                       "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(index.status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(index.body, "<!doctype html>console");
  EXPECT_EQ(index.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_THAT(index.Header("Content-Security-Policy"),
              HasSubstr("default-src 'none'; script-src 'self'"));
  HttpReply asset = RawHttp(port_, "GET /assets/app-1.js HTTP/1.1\r\nHost: " +
                                       host_ + "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(asset.Header("Cache-Control"), "public, max-age=31536000, immutable");
  HttpReply deep = RawHttp(port_, "GET /subscriptions/x HTTP/1.1\r\nHost: " +
                                      host_ + "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(deep.body, "<!doctype html>console");
  HttpReply missing = RawHttp(port_, "GET /nope.js HTTP/1.1\r\nHost: " + host_ +
                                         "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(missing.status_line, "HTTP/1.1 404 Not Found");
  // API paths are unaffected: GET of an RPC is still Connect's 405.
  HttpReply rpc = RawHttp(port_, "GET " + std::string(kList) +
                                     " HTTP/1.1\r\nHost: " + host_ +
                                     "\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(rpc.status_line, HasSubstr("405"));
}

TEST(HttpOriginConfigE2eTest, BadOriginOrConsoleDirStopsStartup) {
  absl::StatusOr<std::unique_ptr<ServerProcess>> bad_origin =
      ServerProcess::Start(TokensConfig(), {"--http_listen=127.0.0.1:0",
                                            "--http_allowed_origins=https://a.example/"});
  ASSERT_FALSE(bad_origin.ok());
  EXPECT_THAT(bad_origin.status().message(), HasSubstr("http.allowed_origins[0]"));
  absl::StatusOr<std::unique_ptr<ServerProcess>> bad_dir =
      ServerProcess::Start(TokensConfig(), {"--http_listen=127.0.0.1:0",
                                            "--console_dir=/nonexistent-console"});
  ASSERT_FALSE(bad_dir.ok());
  EXPECT_THAT(bad_dir.status().message(), HasSubstr("http.console_dir"));
}

}  // namespace
}  // namespace webhooks::e2e
