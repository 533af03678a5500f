#include "server/http/origin_policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhooks::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::Contains;
using ::testing::Not;
using ::testing::Key;

HttpRequest Call(std::string origin, std::string host = "127.0.0.1:8080") {
  HttpRequest request;
  request.method = "POST";
  request.path = "/webhooks.v1.SubscriptionService/ListSubscriptions";
  request.headers = {{"host", std::move(host)}};
  if (!origin.empty()) request.headers.emplace_back("origin", origin);
  return request;
}

HttpRequest Preflight(std::string origin, std::string method = "POST") {
  HttpRequest request = Call(std::move(origin));
  request.method = "OPTIONS";
  request.headers.emplace_back("access-control-request-method", method);
  return request;
}

OriginPolicy Policy(std::vector<std::string> allowed) {
  absl::StatusOr<OriginPolicy> policy = OriginPolicy::Create(allowed);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *std::move(policy);
}

TEST(OriginPolicyTest, CanonicalOrigins) {
  EXPECT_EQ(*CanonicalOrigin("f", "HTTPS://Ops.Example.com"),
            "https://ops.example.com");
  EXPECT_EQ(*CanonicalOrigin("f", "https://a.example:443"), "https://a.example");
  EXPECT_EQ(*CanonicalOrigin("f", "http://a.example:80"), "http://a.example");
  EXPECT_EQ(*CanonicalOrigin("f", "http://localhost:3000"),
            "http://localhost:3000");
  EXPECT_EQ(*CanonicalOrigin("f", "http://[::1]:3000"), "http://[::1]:3000");
}

TEST(OriginPolicyTest, BadAllowedOriginsNameTheirIndex) {
  for (const char* bad : {"*", "ops.example.com", "ftp://a.example",
                          "https://a.example/", "https://a.example/x",
                          "https://", "https://a.example:", "https://a:99999x",
                          "null"}) {
    absl::StatusOr<OriginPolicy> policy =
        OriginPolicy::Create({"https://fine.example", bad});
    ASSERT_FALSE(policy.ok()) << bad;
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(policy.status().message(),
                HasSubstr("http.allowed_origins[1]"))
        << bad;
  }
}

TEST(OriginPolicyTest, CallsWithoutOriginPass) {
  EXPECT_EQ(Policy({}).Screen(Call("")), std::nullopt);
}

TEST(OriginPolicyTest, SameOriginPasses) {
  OriginPolicy policy = Policy({});
  EXPECT_EQ(policy.Screen(Call("http://127.0.0.1:8080")), std::nullopt);
  EXPECT_EQ(policy.Screen(Call("https://ops.example", "ops.example:443")),
            std::nullopt);
  // Behind a proxy that rewrites Host, the browser's own word counts.
  HttpRequest proxied = Call("https://ops.example", "127.0.0.1:8080");
  proxied.headers.emplace_back("sec-fetch-site", "same-origin");
  EXPECT_EQ(policy.Screen(proxied), std::nullopt);
}

TEST(OriginPolicyTest, OtherOriginsAreRefusedWithPermissionDenied) {
  OriginPolicy policy = Policy({"https://ops.example"});
  for (const char* origin : {"https://evil.example", "http://127.0.0.1:9999",
                             "null", "http://ops.example"}) {
    std::optional<HttpResponse> refused = policy.Screen(Call(origin));
    ASSERT_TRUE(refused.has_value()) << origin;
    EXPECT_EQ(refused->status, 403);
    EXPECT_THAT(refused->body, HasSubstr("\"code\":\"permission_denied\""));
    EXPECT_THAT(refused->body, HasSubstr(origin));
    EXPECT_THAT(refused->body, HasSubstr("http.allowed_origins"));
  }
  // A cross-site fetch that claims same-site still needs its origin listed.
  HttpRequest same_site = Call("https://evil.example");
  same_site.headers.emplace_back("sec-fetch-site", "same-site");
  EXPECT_TRUE(policy.Screen(same_site).has_value());
}

TEST(OriginPolicyTest, AllowedOriginsPassAndGetCorsHeaders) {
  OriginPolicy policy = Policy({"https://OPS.example:443"});
  HttpRequest request = Call("https://ops.example");
  EXPECT_EQ(policy.Screen(request), std::nullopt);
  HttpResponse response = HttpResponse::Json(200, "{}");
  policy.Decorate(request, response);
  EXPECT_THAT(response.headers,
              Contains(Pair("Access-Control-Allow-Origin",
                            "https://ops.example")));
  EXPECT_THAT(response.headers, Contains(Pair("Vary", "Origin")));

  HttpResponse same = HttpResponse::Json(200, "{}");
  policy.Decorate(Call("http://127.0.0.1:8080"), same);
  EXPECT_THAT(same.headers, Not(Contains(Key("Access-Control-Allow-Origin"))));
}

TEST(OriginPolicyTest, PreflightsAreAnsweredOnlyForAllowedOrigins) {
  OriginPolicy policy = Policy({"https://ops.example"});
  std::optional<HttpResponse> ok = policy.Screen(Preflight("https://ops.example"));
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 204);
  EXPECT_THAT(ok->headers, Contains(Pair("Access-Control-Allow-Origin",
                                         "https://ops.example")));
  EXPECT_THAT(ok->headers, Contains(Pair("Access-Control-Allow-Methods",
                                         "POST, GET")));
  EXPECT_THAT(ok->headers, Contains(Pair("Access-Control-Allow-Headers",
                                         HasSubstr("authorization"))));

  std::optional<HttpResponse> evil =
      policy.Screen(Preflight("https://evil.example"));
  ASSERT_TRUE(evil.has_value());
  EXPECT_EQ(evil->status, 403);
  EXPECT_THAT(evil->body, HasSubstr("preflight refused"));
  EXPECT_THAT(evil->headers,
              Not(Contains(Key("Access-Control-Allow-Origin"))));

  std::optional<HttpResponse> put =
      policy.Screen(Preflight("https://ops.example", "PUT"));
  ASSERT_TRUE(put.has_value());
  EXPECT_EQ(put->status, 403);
  EXPECT_THAT(put->body, HasSubstr("method \\\"PUT\\\" is not allowed"));

  std::optional<HttpResponse> anonymous = policy.Screen(Preflight(""));
  ASSERT_TRUE(anonymous.has_value());
  EXPECT_EQ(anonymous->status, 403);
  EXPECT_THAT(anonymous->body, HasSubstr("must carry Origin"));
}

}  // namespace
}  // namespace webhooks::server
