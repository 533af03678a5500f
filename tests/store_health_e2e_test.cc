// The server when its store cannot write (issue 15): grpc.health.v1 says
// NOT_SERVING, writes fail without naming server paths, writing resumes once
// space is back, and SIGTERM still exits cleanly.
#include <stdlib.h>
#include <sys/mount.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api_client.h"
#include "tests/matchers.h"
#include "tests/server_process.h"

namespace webhooks::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kServing = 1;
constexpr int kNotServing = 2;

// About 2.5 KB to write.
v1::Subscription BigSubscription(char c, int i) {
  v1::Subscription big = NewSubscription(
      absl::StrCat("/", std::string(400, c), i), "user", "added",
      absl::StrCat("/", std::string(1900, c)));
  return big;
}

// Polls health until it is `want` (or 10 s pass); the last answer.
int AwaitHealth(const ServerProcess& server, int want) {
  int last = -1;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    absl::StatusOr<int> health = HealthCheck(server.NewChannel(), "");
    last = health.ok() ? *health : -1;
    if (last == want) break;
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  return last;
}

TEST(StoreHealthE2eTest, RemovedDataDirectoryIsNotServing) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> server,
                       ServerProcess::Start(""));
  Api api(server->NewChannel());
  ASSERT_OK(api.CreateSubscription(NewSubscription()).status());
  std::filesystem::remove_all(server->data_dir());
  EXPECT_EQ(AwaitHealth(*server, kNotServing), kNotServing);
  absl::Status refused = api.CreateSubscription(NewSubscription()).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
  EXPECT_THAT(refused.message(), Not(HasSubstr(server->dir())));
  EXPECT_THAT(server->Log(), HasSubstr("NOT_SERVING"));
}

TEST(StoreHealthE2eTest, FullDiskIsNotServingThenRecovers) {
  std::string mount_dir = ::testing::TempDir() + "store_health_e2e.XXXXXX";
  ASSERT_NE(mkdtemp(mount_dir.data()), nullptr);
  if (::mount("tmpfs", mount_dir.c_str(), "tmpfs", 0, "size=16m") != 0) {
    std::filesystem::remove(mount_dir);
    GTEST_SKIP() << "cannot mount a tmpfs here";
  }
  struct Unmount {
    std::string dir;
    ~Unmount() {
      ::umount2(dir.c_str(), MNT_DETACH);
      std::error_code error;
      std::filesystem::remove_all(dir, error);
    }
  } unmount{mount_dir};

  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ServerProcess> server,
      ServerProcess::Start("", {absl::StrCat("--data_dir=", mount_dir, "/db")}));
  Api api(server->NewChannel());
  ASSERT_OK(api.CreateSubscription(NewSubscription()).status());
  {
    std::ofstream filler(mount_dir + "/filler", std::ios::binary);
    const std::string block(1 << 16, 'x');
    while (filler.write(block.data(), block.size())) {
    }
  }
  absl::Status failed;
  for (int i = 0; i < 20000 && failed.ok(); ++i) {
    failed = api.CreateSubscription(BigSubscription('a', i)).status();
  }
  ASSERT_FALSE(failed.ok()) << "a full disk took every write";
  EXPECT_THAT(failed.message(), Not(HasSubstr(mount_dir)));
  EXPECT_EQ(AwaitHealth(*server, kNotServing), kNotServing);

  std::filesystem::remove(mount_dir + "/filler");
  EXPECT_EQ(AwaitHealth(*server, kServing), kServing);
  EXPECT_OK(api.CreateSubscription(NewSubscription()).status());

  // Full again, and stopped while full: a clean exit, no SIGABRT.
  {
    std::ofstream filler(mount_dir + "/filler", std::ios::binary);
    const std::string block(1 << 16, 'x');
    while (filler.write(block.data(), block.size())) {
    }
  }
  failed = absl::OkStatus();
  for (int i = 0; i < 20000 && failed.ok(); ++i) {
    failed = api.CreateSubscription(BigSubscription('b', i)).status();
  }
  ASSERT_OK_AND_ASSIGN(int code, server->Terminate());
  EXPECT_EQ(code, 0) << server->Log();
}

}  // namespace
}  // namespace webhooks::e2e
