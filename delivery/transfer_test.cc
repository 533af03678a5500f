#include "delivery/transfer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhooks::delivery {
namespace {

using core::HttpRequest;
using core::HttpResult;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

HttpRequest Request(std::string url) {
  return HttpRequest{std::move(url), "POST", {{"Content-Type", "a/b"}}, "{}"};
}

TEST(CheckRequestTest, DestinationKeys) {
  absl::StatusOr<CheckedRequest> checked =
      CheckRequest(Request("HTTPS://Example.COM/hook?x=1"), false);
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_EQ(checked->destination, "https://example.com:443");
  EXPECT_EQ(checked->url, "https://example.com/hook?x=1");
  checked = CheckRequest(Request("http://127.0.0.1:8080/"), true);
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_EQ(checked->destination, "http://127.0.0.1:8080");
  checked = CheckRequest(Request("https://[2001:DB8::1]:8443/h"), false);
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_EQ(checked->destination, "https://[2001:db8::1]:8443");
}

TEST(CheckRequestTest, Rejects) {
  auto message = [](const HttpRequest& request, bool allow_http) {
    absl::StatusOr<CheckedRequest> checked = CheckRequest(request, allow_http);
    EXPECT_FALSE(checked.ok());
    return std::string(checked.status().message());
  };
  EXPECT_THAT(message(Request("http://example.com/"), false),
              HasSubstr("must use https"));
  EXPECT_THAT(message(Request("ftp://example.com/"), true),
              HasSubstr("scheme \"ftp\""));
  EXPECT_THAT(message(Request("https://u:p@example.com/"), false),
              HasSubstr("credentials"));
  HttpRequest get = Request("https://example.com/");
  get.method = "GET";
  EXPECT_THAT(message(get, false), HasSubstr("method: \"GET\""));
  HttpRequest lower = Request("https://example.com/");
  lower.method = "post";
  EXPECT_THAT(message(lower, false), HasSubstr("method"));
  for (const char* name : {"Host", "content-length", "Transfer-Encoding",
                           "Connection", "Expect", "TE", "Upgrade"}) {
    HttpRequest request = Request("https://example.com/");
    request.headers.emplace_back(name, "x");
    EXPECT_THAT(message(request, false), HasSubstr("headers[1]")) << name;
  }
  HttpRequest bad_name = Request("https://example.com/");
  bad_name.headers.emplace_back("X Y", "1");
  EXPECT_THAT(message(bad_name, false), HasSubstr("not a header name"));
  HttpRequest crlf = Request("https://example.com/");
  crlf.headers.emplace_back("X-A", "1\r\nX-B: 2");
  EXPECT_THAT(message(crlf, false), HasSubstr("control character"));
  HttpRequest nul = Request("https://example.com/");
  nul.headers.emplace_back("X-A", std::string("a\0b", 3));
  EXPECT_THAT(message(nul, false), HasSubstr("control character"));
}

// Every byte, anywhere in a long value or a name: values refuse the
// control characters but tab, names take only RFC 9110's tchar.
TEST(CheckRequestTest, HeaderChecksCoverEveryByte) {
  const std::string tchar =
      "!#$%&'*+-.^_`|~0123456789"
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool control = (b < 0x20 && b != '\t') || b == 0x7f;
    for (size_t at : {size_t{0}, size_t{63}, size_t{130}}) {
      HttpRequest request = Request("https://example.com/");
      std::string value(131, 'v');
      value[at] = c;
      request.headers.emplace_back("X-Value", value);
      EXPECT_EQ(CheckRequest(request, false).ok(), !control)
          << "byte " << b << " at " << at;
    }
    HttpRequest request = Request("https://example.com/");
    request.headers.emplace_back(std::string("X-") + c + "-Name", "1");
    EXPECT_EQ(CheckRequest(request, false).ok(),
              tchar.find(c) != std::string::npos)
        << "byte " << b << " in a name";
  }
  HttpRequest empty = Request("https://example.com/");
  empty.headers.emplace_back("", "1");
  EXPECT_FALSE(CheckRequest(empty, false).ok());
  // Longer than any controlled name, and a prefix of none: allowed.
  HttpRequest long_name = Request("https://example.com/");
  long_name.headers.emplace_back("Content-Length-Extra", "1");
  EXPECT_TRUE(CheckRequest(long_name, false).ok());
}

TEST(CurlHeaderLinesTest, ExactlyTheGivenHeaders) {
  EXPECT_THAT(CurlHeaderLines({{"Content-Type", "application/json"},
                               {"X-Empty", ""},
                               {"webhook-id", "msg_1"}}),
              ElementsAre("Content-Type: application/json", "X-Empty;",
                          "webhook-id: msg_1", "Expect:", "Accept:"));
  EXPECT_THAT(CurlHeaderLines({{"accept", "*/*"}}),
              ElementsAre("accept: */*", "Expect:", "Content-Type:"));
}

sockaddr_in Ipv4(const char* text) {
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  inet_pton(AF_INET, text, &address.sin_addr);
  return address;
}

TEST(ConnectGuardTest, RemembersRefusals) {
  absl::StatusOr<AddressPolicy> policy = AddressPolicy::Create({});
  ASSERT_TRUE(policy.ok());
  ConnectGuard guard(&*policy);
  EXPECT_FALSE(guard.refused_all());
  const sockaddr_in loopback = Ipv4("127.0.0.1");
  EXPECT_FALSE(guard.Allow(reinterpret_cast<const sockaddr*>(&loopback)));
  EXPECT_TRUE(guard.refused_all());
  EXPECT_EQ(guard.refusal(),
            "refused to connect to 127.0.0.1: loopback address (not in "
            "allowed_cidrs)");
  const sockaddr_in public_address = Ipv4("93.184.216.34");
  EXPECT_TRUE(guard.Allow(reinterpret_cast<const sockaddr*>(&public_address)));
  EXPECT_FALSE(guard.refused_all());  // one address was allowed
}

TEST(ResponseCollectorTest, StatusHeadersAndBody) {
  ResponseCollector collector(100, 100);
  collector.OnHeaderLine("HTTP/1.1 503 Service Unavailable\r\n");
  collector.OnHeaderLine("Retry-After:  120 \r\n");
  collector.OnHeaderLine("X-Folded: a\r\n");
  collector.OnHeaderLine("  b\r\n");
  collector.OnHeaderLine("\r\n");
  EXPECT_TRUE(collector.OnBody("busy"));
  collector.OnHeaderLine("X-Trailer: ignored\r\n");
  HttpResult result;
  collector.MoveInto(&result);
  EXPECT_EQ(result.status_code, 503);
  EXPECT_EQ(result.reason, "Service Unavailable");
  EXPECT_THAT(result.headers,
              ElementsAre(Pair("Retry-After", "120"), Pair("X-Folded", "a b")));
  EXPECT_EQ(result.body, "busy");
  EXPECT_FALSE(result.body_truncated);
}

// Found by fuzz/http_response_fuzzer (fuzz/corpus/http_response_fuzzer/
// crash-latin1-reason): a Latin-1 reason phrase or header value went into the
// attempt record's proto3 strings as it was, and the stored record no longer
// parsed (the attempt was unreadable, and so was ListAttempts).
TEST(ResponseCollectorTest, ReasonAndHeadersAreMadeValidUtf8) {
  ResponseCollector collector(100, 200);
  collector.OnHeaderLine("HTTP/1.1 500 \xE9" "chec\r\n");
  collector.OnHeaderLine("X-Latin: caf\xE9\r\n");
  collector.OnHeaderLine("X-\xFF: ok \xC3\xA9\r\n");
  collector.OnHeaderLine("  \x80more\r\n");
  collector.OnHeaderLine("\r\n");
  HttpResult result;
  collector.MoveInto(&result);
  EXPECT_EQ(result.status_code, 500);
  EXPECT_EQ(result.reason, "\xEF\xBF\xBD" "chec");
  EXPECT_THAT(result.headers,
              ElementsAre(Pair("X-Latin", "caf\xEF\xBF\xBD"),
                          Pair("X-\xEF\xBF\xBD", "ok \xC3\xA9 \xEF\xBF\xBD" "more")));
}

TEST(ResponseCollectorTest, InterimResponsesAreDropped) {
  ResponseCollector collector(100, 100);
  collector.OnHeaderLine("HTTP/1.1 100 Continue\r\n");
  collector.OnHeaderLine("X-Interim: 1\r\n");
  collector.OnHeaderLine("\r\n");
  collector.OnHeaderLine("HTTP/2 204 \r\n");
  collector.OnHeaderLine("x-final: 1\r\n");
  collector.OnHeaderLine("\r\n");
  HttpResult result;
  collector.MoveInto(&result);
  EXPECT_EQ(result.status_code, 204);
  EXPECT_EQ(result.reason, "");
  EXPECT_THAT(result.headers, ElementsAre(Pair("x-final", "1")));
}

TEST(ResponseCollectorTest, HeaderCap) {
  ResponseCollector collector(100, 20);
  collector.OnHeaderLine("HTTP/1.1 200 OK\r\n");
  collector.OnHeaderLine("A: 12345678\r\n");  // 13 bytes
  collector.OnHeaderLine("B: 12345678\r\n");  // would make 26
  collector.OnHeaderLine("C: 1\r\n");         // after a dropped one: dropped
  EXPECT_TRUE(collector.headers_truncated());
  HttpResult result;
  collector.MoveInto(&result);
  EXPECT_THAT(result.headers, ElementsAre(Pair("A", "12345678")));
}

TEST(ResponseCollectorTest, BodyCap) {
  ResponseCollector exact(6, 100);
  EXPECT_TRUE(exact.OnBody("abc"));
  EXPECT_TRUE(exact.OnBody("def"));
  EXPECT_FALSE(exact.body_truncated());
  ResponseCollector over(6, 100);
  EXPECT_TRUE(over.OnBody("abcd"));
  EXPECT_FALSE(over.OnBody("efgh"));
  EXPECT_TRUE(over.body_truncated());
  HttpResult result;
  over.MoveInto(&result);
  EXPECT_EQ(result.body, "abcdef");
  EXPECT_TRUE(result.body_truncated);
  ResponseCollector none(0, 100);
  EXPECT_FALSE(none.OnBody("x"));
  EXPECT_TRUE(none.body_truncated());
}

}  // namespace
}  // namespace webhooks::delivery

namespace webhooks::delivery {
namespace {

TEST(CheckProxyUrlTest, AcceptsSchemeHostAndPortOnly) {
  for (const char* good : {"http://proxy.internal:3128", "https://10.0.0.5:8443/",
                           "http://[2001:db8::5]:3128"}) {
    EXPECT_TRUE(CheckProxyUrl("proxy_url", good).ok()) << good;
  }
  for (const char* bad : {"socks5://proxy:1080", "http://proxy.internal",
                          "https://[2001:db8::5]", "http://proxy:3128/path",
                          "proxy:3128", "", "http://:pw@proxy:3128",
                          "http://user:p%zzw@proxy:3128",
                          "http://user:p%0aw@proxy:3128"}) {
    absl::Status status = CheckProxyUrl("delivery.proxy_url", bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(status.message()),
                ::testing::StartsWith("delivery.proxy_url"))
        << bad;
  }
}

TEST(ParseProxyUrlTest, TakesCredentialsOutOfTheUrl) {
  absl::StatusOr<ProxyEndpoint> proxy =
      ParseProxyUrl("proxy_url", "https://egress:s%40cr%3Aet@proxy.internal:8443/");
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  EXPECT_EQ(proxy->url, "https://proxy.internal:8443");
  EXPECT_EQ(proxy->user, "egress");
  EXPECT_EQ(proxy->password, "s@cr:et");
  proxy = ParseProxyUrl("proxy_url", "http://only-user@10.0.0.5:3128");
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  EXPECT_EQ(proxy->url, "http://10.0.0.5:3128");
  EXPECT_EQ(proxy->user, "only-user");
  EXPECT_EQ(proxy->password, "");
  proxy = ParseProxyUrl("proxy_url", "http://[2001:db8::5]:3128");
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  EXPECT_EQ(proxy->url, "http://[2001:db8::5]:3128");
  EXPECT_EQ(proxy->user, "");
  // No message repeats the password, whatever else is wrong.
  for (const char* bad : {"http://u:hunter2@proxy", "http://u:hunter2@proxy:3128/x",
                          "ftp://u:hunter2@proxy:21", "http://u:hunter2%zz@p:1"}) {
    absl::Status status = ParseProxyUrl("proxy_url", bad).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(status.message()),
                ::testing::Not(::testing::HasSubstr("hunter2")))
        << bad;
  }
}

TEST(RequestCheckerTest, AgreesWithCheckRequestAndRemembersUrls) {
  RequestChecker checker(/*allow_http=*/true, /*capacity=*/2);
  for (const char* url : {"HTTPS://Example.COM/hook?x=1", "http://127.0.0.1:8080/",
                          "https://[2001:DB8::1]:8443/h",
                          "HTTPS://Example.COM/hook?x=1", "ftp://example.com/",
                          "https://user:pw@example.com/"}) {
    core::HttpRequest request = Request(url);
    absl::StatusOr<CheckedRequest> want = CheckRequest(request, true);
    absl::StatusOr<std::shared_ptr<const CheckedRequest>> got =
        checker.Check(request);
    ASSERT_EQ(got.status(), want.status()) << url;
    if (!want.ok()) continue;
    ASSERT_NE(*got, nullptr) << url;
    EXPECT_EQ((*got)->url, want->url) << url;
    EXPECT_EQ((*got)->destination, want->destination) << url;
    EXPECT_EQ((*got)->host, want->host) << url;
    EXPECT_EQ((*got)->port, want->port) << url;
    EXPECT_EQ((*got)->host_is_ipv6, want->host_is_ipv6) << url;
    EXPECT_LE(checker.cached(), 2u);  // forgets all when full
  }
  // A remembered URL still has its method and headers checked.
  core::HttpRequest bad = Request("http://127.0.0.1:8080/");
  ASSERT_TRUE(checker.Check(bad).ok());
  bad.headers.push_back({"Content-Length", "1"});
  EXPECT_EQ(checker.Check(bad).status(), CheckRequest(bad, true).status());
  bad.headers.pop_back();
  bad.method = "GET";
  EXPECT_EQ(checker.Check(bad).status(), CheckRequest(bad, true).status());
  EXPECT_EQ(checker.Check(bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  // http:// stays refused by a checker that does not allow it.
  RequestChecker https_only(/*allow_http=*/false);
  EXPECT_EQ(https_only.Check(Request("http://127.0.0.1:8080/")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TimeoutMessageTest, NamesThePhaseItWaitedFor) {
  const absl::Duration after = absl::Milliseconds(5000);
  EXPECT_EQ(TimeoutMessage({}, after),
            "no TCP connection to the receiver (timed out after 5000 ms)");
  EXPECT_EQ(TimeoutMessage({.connected = true, .https = true}, after),
            "the receiver accepted the TCP connection but did not complete "
            "the TLS handshake (timed out after 5000 ms)");
  EXPECT_EQ(TimeoutMessage({.connected = true}, after),
            "the request was sent but no response came (timed out after "
            "5000 ms)");
  EXPECT_EQ(TimeoutMessage({.connected = true, .https = true, .tls_done = true,
                            .first_byte = true},
                           after),
            "the response did not arrive in full (timed out after 5000 ms)");
}

TEST(ExplainProxyFailureTest, NamesTheProxyOnlyForItsOwnFailures) {
  auto explain = [](ProxyFailureFacts facts) {
    HttpResult result;
    result.error = "curl says";
    ExplainProxyFailure(facts, "http://p:3128", &result);
    return result.error;
  };
  EXPECT_EQ(explain({.connect_code = 407}),
            "egress proxy http://p:3128 answered CONNECT with 407 (curl says)");
  EXPECT_EQ(explain({.timed_out = true}),
            "egress proxy http://p:3128: no tunnel to the receiver (curl says)");
  EXPECT_EQ(explain({.unreachable = true}),
            "egress proxy http://p:3128: curl says");
  // The tunnel was made: the receiver's failure, not the proxy's.
  EXPECT_EQ(explain({.connect_code = 200, .timed_out = true}), "curl says");
  EXPECT_EQ(explain({}), "curl says");
}

TEST(ConnectToEntryTest, PinsTheTunnelToTheCheckedAddress) {
  absl::StatusOr<CheckedRequest> checked = CheckRequest(
      core::HttpRequest{"https://hooks.example.com/h", "POST", {}, "{}"},
      false);
  ASSERT_TRUE(checked.ok()) << checked.status();
  Pending pending;
  pending.checked = std::make_shared<const CheckedRequest>(*checked);
  pending.connect_ip = "203.0.113.7";
  EXPECT_EQ(ConnectToEntry(pending), "hooks.example.com:443:203.0.113.7:443");
  pending.connect_ip = "2001:db8::7";
  EXPECT_EQ(ConnectToEntry(pending), "hooks.example.com:443:[2001:db8::7]:443");
}

}  // namespace
}  // namespace webhooks::delivery
