// The gRPC port under pressure: file-descriptor exhaustion, a connection
// cap, the nofile limit raised at start-up, and a second server on a port in
// use (see server/fd_limits.h and server/listen_guard.h).
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api_client.h"
#include "tests/matchers.h"
#include "tests/server_process.h"

namespace webhooks::e2e {
namespace {

using ::testing::HasSubstr;

constexpr int kServing = 1;

// Open descriptors of process `pid`.
int OpenFds(pid_t pid) {
  int count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(
           absl::StrCat("/proc/", pid, "/fd"))) {
    ++count;
  }
  return count;
}

// The soft and hard "Max open files" of process `pid`.
std::pair<std::string, std::string> NofileLimits(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/limits"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::vector<std::string> words =
        absl::StrSplit(line.substr(14), ' ', absl::SkipEmpty());
    if (words.size() >= 2) return {words[0], words[1]};
  }
  return {};
}

// Idle TCP connections to 127.0.0.1:port: no bytes, no TLS, no HTTP/2.
class IdleConnections {
 public:
  IdleConnections(int port, int count) {
    for (int i = 0; i < count; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) break;
      sockaddr_in addr = {};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::close(fd);
        break;
      }
      fds_.push_back(fd);
    }
  }
  ~IdleConnections() { CloseAll(); }
  void CloseAll() {
    for (int fd : fds_) ::close(fd);
    fds_.clear();
  }
  size_t size() const { return fds_.size(); }

 private:
  std::vector<int> fds_;
};

// This process may open a few thousand descriptors.
void RaiseOwnLimit() {
  rlimit limit;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  limit.rlim_cur = limit.rlim_max;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
  ASSERT_GE(limit.rlim_cur, 2048u) << "the test needs a nofile limit of 2048";
}

// A new channel (a new connection) gets an answer within `timeout`.
bool NewConnectionServed(const ServerProcess& server, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    absl::StatusOr<int> health = HealthCheck(server.NewChannel(), "");
    if (health.ok() && *health == kServing) return true;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return false;
}

TEST(ListenerE2eTest, RaisesTheSoftNofileLimitToTheHardOne) {
  rlimit saved;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max <= 512) {
    GTEST_SKIP() << "hard nofile limit too low to lower the soft one";
  }
  rlimit lowered = saved;
  lowered.rlim_cur = 512;  // the server inherits it
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start("");
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_OK(server.status());
  const auto [soft, hard] = NofileLimits((*server)->pid());
  EXPECT_NE(soft, "512");
  EXPECT_EQ(soft, hard);
}

// Finding 1 of issue 15: after one EMFILE, gRPC 1.51's listener never
// accepted again.
TEST(ListenerE2eTest, AcceptsAgainAfterRunningOutOfDescriptors) {
  RaiseOwnLimit();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> server,
                       ServerProcess::Start(""));
  // A channel opened before keeps working throughout.
  std::shared_ptr<grpc::Channel> before = server->NewChannel();
  ASSERT_OK(HealthCheck(before, "").status());
  constexpr int kLimit = 256;
  const rlimit limit = {kLimit, kLimit};
  ASSERT_EQ(::prlimit(server->pid(), RLIMIT_NOFILE, &limit, nullptr), 0);

  IdleConnections idle(server->port(), kLimit + 200);
  ASSERT_EQ(idle.size(), kLimit + 200u);
  absl::SleepFor(absl::Seconds(1));  // the server accepts what it can
  EXPECT_LT(OpenFds(server->pid()), kLimit);
  EXPECT_OK(HealthCheck(before, "").status());
  idle.CloseAll();
  EXPECT_TRUE(NewConnectionServed(*server, absl::Seconds(5)));
  EXPECT_THAT(server->Log(), HasSubstr("closing new gRPC connections"));
}

TEST(ListenerE2eTest, CapsConnections) {
  RaiseOwnLimit();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> server,
                       ServerProcess::Start("", {"--max_connections=50"}));
  const int base = OpenFds(server->pid());
  IdleConnections idle(server->port(), 300);
  absl::SleepFor(absl::Seconds(1));
  EXPECT_LE(OpenFds(server->pid()), base + 50 + 8);
  idle.CloseAll();
  EXPECT_TRUE(NewConnectionServed(*server, absl::Seconds(5)));
}

// Finding 5: gRPC's SO_REUSEPORT let a second server share the port.
TEST(ListenerE2eTest, SecondServerOnAPortInUseRefusesToStart) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> first,
                       ServerProcess::Start(""));
  absl::StatusOr<std::unique_ptr<ServerProcess>> second = ServerProcess::Start(
      "", {absl::StrCat("--listen=127.0.0.1:", first->port())},
      absl::Seconds(10));
  ASSERT_FALSE(second.ok()) << "a second server shares port " << first->port();
  EXPECT_THAT(second.status().message(),
              HasSubstr("address already in use: is another server running "
                        "on this port?"));
  ASSERT_OK_AND_ASSIGN(int health, HealthCheck(first->NewChannel(), ""));
  EXPECT_EQ(health, kServing);
}

}  // namespace
}  // namespace webhooks::e2e
