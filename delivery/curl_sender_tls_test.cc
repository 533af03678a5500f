// CurlSender over TLS against a TestHttpServer speaking HTTPS with a
// throwaway CA and certificates made by the openssl command line tool.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "delivery/curl_sender.h"
#include "delivery/sender_test_util.h"
#include "delivery/test_http_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhooks::delivery {
namespace {

using Outcome = core::HttpResult::Outcome;
using testing::Answer;
using testing::MakeSender;
using testing::Post;
using testing::ReceivedRequest;
using testing::Results;
using testing::SendAndWait;
using testing::TestHttpServer;
using testing::TestOptions;

constexpr char kConfig[] = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = webhooks delivery test CA
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
[wrong_name]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:other.example
)";

// A CA and two server certificates (one for 127.0.0.1, one for another
// name) in a fresh temporary directory; empty dir when openssl failed.
class TestPki {
 public:
  TestPki() {
    std::string pattern = ::testing::TempDir() + "delivery_tls_XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) return;
    const std::string dir = pattern;
    std::ofstream(dir + "/openssl.cnf") << kConfig;
    const std::string ec =
        "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string quiet = " >/dev/null 2>&1";
    bool ok = Run(StrCat("openssl req -x509 -config ", dir, "/openssl.cnf ",
                         "-extensions ca ", ec, " -keyout ", dir,
                         "/ca.key -out ", dir, "/ca.pem -days 2", quiet));
    for (const std::string name : {"server", "wrong_name"}) {
      ok = ok &&
           Run(StrCat("openssl req -new -config ", dir, "/openssl.cnf ", ec,
                      " -subj /CN=", name, " -keyout ", dir, "/", name,
                      ".key -out ", dir, "/", name, ".csr", quiet)) &&
           Run(StrCat("openssl x509 -req -in ", dir, "/", name, ".csr -CA ",
                      dir, "/ca.pem -CAkey ", dir, "/ca.key -CAcreateserial",
                      " -days 2 -extfile ", dir, "/openssl.cnf -extensions ",
                      name, " -out ", dir, "/", name, ".pem", quiet));
    }
    if (ok) dir_ = dir;
  }
  ~TestPki() {
    if (!dir_.empty()) Run(StrCat("rm -rf ", dir_));
  }
  bool ok() const { return !dir_.empty(); }
  std::string Path(const std::string& file) const {
    return StrCat(dir_, "/", file);
  }

 private:
  static std::string StrCat(auto... parts) { return absl::StrCat(parts...); }
  static bool Run(const std::string& command) {
    return std::system(command.c_str()) == 0;
  }
  std::string dir_;
};

class CurlSenderTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  void SetUp() override {
    if (!pki_->ok()) GTEST_SKIP() << "openssl could not make certificates";
  }
  void Serve(TestHttpServer& server, const std::string& name) {
    ASSERT_TRUE(server
                    .Start(pki_->Path(name + ".pem"),
                           pki_->Path(name + ".key"))
                    .ok());
    server.Handle("/hook", [](const ReceivedRequest& request) {
      return Answer(200, "OK", "secure " + request.body);
    });
  }
  static CurlSenderOptions HttpsOptions(bool with_ca) {
    CurlSenderOptions options = TestOptions();
    options.allow_http = false;
    if (with_ca) options.ca_bundle = pki_->Path("ca.pem");
    return options;
  }

  static TestPki* pki_;
};

TestPki* CurlSenderTlsTest::pki_ = nullptr;

TEST_F(CurlSenderTlsTest, TrustedCertificate) {
  TestHttpServer server;
  Serve(server, "server");
  auto sender = MakeSender(HttpsOptions(true));
  ASSERT_NE(sender, nullptr);
  for (int i = 0; i < 3; ++i) {
    const core::HttpResult result =
        SendAndWait(*sender, Post(server.Url("/hook"), "hello"));
    EXPECT_EQ(result.outcome, Outcome::kResponse) << result.error;
    EXPECT_EQ(result.status_code, 200);
    EXPECT_EQ(result.body, "secure hello");
  }
  EXPECT_EQ(server.connections(), 1);  // TLS connection reused
}

TEST_F(CurlSenderTlsTest, UntrustedCertificateIsTlsError) {
  TestHttpServer server;
  Serve(server, "server");
  auto sender = MakeSender(HttpsOptions(false));  // the system's CAs
  ASSERT_NE(sender, nullptr);
  const core::HttpResult result =
      SendAndWait(*sender, Post(server.Url("/hook")));
  EXPECT_EQ(result.outcome, Outcome::kTlsError) << result.error;
  EXPECT_FALSE(result.error.empty());
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(CurlSenderTlsTest, WrongHostNameIsTlsError) {
  TestHttpServer server;
  Serve(server, "wrong_name");
  auto sender = MakeSender(HttpsOptions(true));
  ASSERT_NE(sender, nullptr);
  const core::HttpResult result =
      SendAndWait(*sender, Post(server.Url("/hook")));
  EXPECT_EQ(result.outcome, Outcome::kTlsError) << result.error;
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(CurlSenderTlsTest, ConcurrentRequestsToAnHttp11Receiver) {
  absl::Notification release;  // outlives the server's handler threads
  TestHttpServer server;
  Serve(server, "server");
  server.Handle("/held", [&release](const ReceivedRequest&) {
    release.WaitForNotificationWithTimeout(absl::Seconds(60));
    return Answer(200, "OK", "released");
  });
  Results results;  // outlives the sender
  CurlSenderOptions options = HttpsOptions(true);
  options.max_per_destination = 3;
  auto sender = MakeSender(options);
  ASSERT_NE(sender, nullptr);
  for (int i = 0; i < 3; ++i) {
    sender->Send(Post(server.Url("/held")), results.Callback(i));
  }
  // No ALPN from this receiver: HTTP/1.1, one connection per transfer.
  const bool all_arrived = server.WaitForRequests(3, absl::Seconds(60));
  release.Notify();
  ASSERT_TRUE(all_arrived);
  ASSERT_TRUE(results.WaitFor(3));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(results.Get(i).outcome, Outcome::kResponse)
        << results.Get(i).error;
  }
  EXPECT_EQ(server.connections(), 3);
}

// Issue 15: a receiver that accepts TCP but never answers the TLS handshake
// got "Failed to resolve host '127.0.0.1' with timeout after 0 ms".
TEST(CurlSenderTlsStallTest, StalledHandshakeSaysSo) {
  // A listening socket nobody accepts from: the kernel completes the TCP
  // handshake, then nothing answers.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  CurlSenderOptions options = TestOptions();
  options.allow_http = false;
  options.connect_timeout = absl::Seconds(1);
  options.total_timeout = absl::Seconds(30);
  auto sender = MakeSender(options);
  ASSERT_NE(sender, nullptr);
  const core::HttpResult result = SendAndWait(
      *sender, Post(absl::StrCat("https://127.0.0.1:", ntohs(addr.sin_port), "/h")));
  ::close(fd);
  EXPECT_EQ(result.outcome, Outcome::kTimeout) << result.error;
  EXPECT_THAT(result.error,
              ::testing::HasSubstr("accepted the TCP connection but did not "
                                   "complete the TLS handshake"));
  EXPECT_THAT(result.error, ::testing::Not(::testing::HasSubstr("resolve")));
}

}  // namespace
}  // namespace webhooks::delivery
