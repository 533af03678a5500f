#include "storage/rocksdb_store.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/store_conformance_test.h"

namespace webhooks::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// A fresh directory under the test temp dir, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "rocksdb_store_test.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp " << pattern << " failed";
      return;
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code error;
    if (!path_.empty()) std::filesystem::remove_all(path_, error);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // A path inside the directory.
  std::string Path(const std::string& name) const {
    return absl::StrCat(path_, "/", name);
  }

 private:
  std::string path_;
};

struct RocksDbEnv {
  absl::StatusOr<StorePtr> NewStore() {
    return RocksDbStore::Open({.path = dir.Path("db")});
  }
  TempDir dir;
};

}  // namespace

namespace conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(RocksDb, StoreConformanceTest, RocksDbEnv);
}  // namespace conformance

namespace {

StorePtr OpenOrDie(const std::string& path) {
  absl::StatusOr<StorePtr> store = RocksDbStore::Open({.path = path});
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

// Runs `child` in a forked process, which exits with its return value. The
// child must not use gtest assertions; it reports through its exit status.
pid_t ForkChild(const std::function<int()>& child) {
  pid_t pid = fork();
  if (pid == 0) _exit(child());
  return pid;
}

// Waits up to a minute for `pid`; kills it if it has not ended by then.
// Returns its wait status, or -1 if it had to be killed.
int WaitForChild(pid_t pid) {
  for (int i = 0; i < 600; ++i) {
    int status = 0;
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

TEST(RocksDbStoreTest, ReopenKeepsDataInEveryColumn) {
  TempDir dir;
  const std::string path = dir.Path("db");
  {
    StorePtr store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    WriteBatch batch;
    for (Column column : AllColumns()) {
      batch.Put(column, "key", ColumnName(column));
      batch.Put(column, "deleted", "x");
    }
    ASSERT_EQ(store->Write(batch), absl::OkStatus());
    WriteBatch deletes;
    for (Column column : AllColumns()) deletes.Delete(column, "deleted");
    // Unsynced writes survive a clean close too.
    ASSERT_EQ(store->Write(deletes, WriteOptions{.sync = false}),
              absl::OkStatus());
  }
  StorePtr store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  for (Column column : AllColumns()) {
    SCOPED_TRACE(ColumnName(column));
    EXPECT_THAT(conformance::ScanAll(*store, column),
                ElementsAre(Pair("key", ColumnName(column))));
  }
}

TEST(RocksDbStoreTest, SecondOpenWhileOpenFailsWithFailedPrecondition) {
  TempDir dir;
  const std::string path = dir.Path("db");
  StorePtr first = OpenOrDie(path);
  ASSERT_NE(first, nullptr);
  absl::StatusOr<StorePtr> second = RocksDbStore::Open({.path = path});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition)
      << second.status();
  EXPECT_THAT(second.status().message(), HasSubstr(path));
  first.reset();
  EXPECT_NE(OpenOrDie(path), nullptr);
}

// The lock held by another process (a real file lock, not RocksDB's
// in-process table) is reported the same way.
TEST(RocksDbStoreTest, OpenHeldByAnotherProcessFailsWithFailedPrecondition) {
  TempDir dir;
  const std::string path = dir.Path("db");
  int ready[2], release[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(release), 0);
  pid_t pid = ForkChild([&] {
    close(ready[0]);
    close(release[1]);
    absl::StatusOr<StorePtr> store = RocksDbStore::Open({.path = path});
    char byte = store.ok() ? '1' : '0';
    if (write(ready[1], &byte, 1) != 1) return 2;
    read(release[0], &byte, 1);  // until the parent closes its end
    // Exit without closing the store; the kernel drops the lock.
    return store.ok() ? 0 : 3;
  });
  ASSERT_GT(pid, 0);
  close(ready[1]);
  close(release[0]);
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  ASSERT_EQ(byte, '1') << "the child could not open the store";
  absl::StatusOr<StorePtr> store = RocksDbStore::Open({.path = path});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition)
      << store.status();
  close(release[1]);
  close(ready[0]);
  int status = WaitForChild(pid);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// A batch written with sync=true survives the process dying by SIGKILL right
// after Write returns. (A kill does not lose the OS page cache, so this checks
// that the batch reached the WAL file before Write returned; power loss is
// not simulated.)
TEST(RocksDbStoreTest, SyncedBatchSurvivesSigkill) {
  TempDir dir;
  const std::string path = dir.Path("db");
  pid_t pid = ForkChild([&] {
    absl::StatusOr<StorePtr> store = RocksDbStore::Open({.path = path});
    if (!store.ok()) return 2;
    WriteBatch batch;
    batch.Put(Column::kDeliveries, "d1", "record");
    batch.Put(Column::kDeliveryQueue, "q1", "");
    batch.Put(Column::kMeta, "counter", "7");
    if (!(*store)->Write(batch, WriteOptions{.sync = true}).ok()) return 3;
    kill(getpid(), SIGKILL);
    return 4;  // not reached
  });
  ASSERT_GT(pid, 0);
  int status = WaitForChild(pid);
  ASSERT_TRUE(WIFSIGNALED(status))
      << "child exited with code "
      << (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  ASSERT_EQ(WTERMSIG(status), SIGKILL);

  StorePtr store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(conformance::GetOrAbsent(*store, Column::kDeliveries, "d1"),
            "record");
  EXPECT_EQ(conformance::GetOrAbsent(*store, Column::kDeliveryQueue, "q1"), "");
  EXPECT_EQ(conformance::GetOrAbsent(*store, Column::kMeta, "counter"), "7");
}

// RocksDB, unlike MemoryStore, lets a visitor write; the scan still reads the
// snapshot taken when it began.
TEST(RocksDbStoreTest, ScanReadsOneSnapshot) {
  TempDir dir;
  StorePtr store = OpenOrDie(dir.Path("db"));
  ASSERT_NE(store, nullptr);
  WriteBatch batch;
  batch.Put(Column::kMeta, "a", "1");
  batch.Put(Column::kMeta, "b", "1");
  ASSERT_EQ(store->Write(batch), absl::OkStatus());
  std::vector<std::string> seen;
  absl::Status status = store->Scan(
      Column::kMeta, "", "", [&](std::string_view k, std::string_view v) {
        seen.push_back(std::string(k) + "=" + std::string(v));
        if (k == "a") {
          WriteBatch change;
          change.Put(Column::kMeta, "b", "2");
          change.Put(Column::kMeta, "c", "2");
          EXPECT_EQ(store->Write(change), absl::OkStatus());
        }
        return true;
      });
  EXPECT_EQ(status, absl::OkStatus());
  EXPECT_THAT(seen, ElementsAre("a=1", "b=1"));
  EXPECT_EQ(conformance::GetOrAbsent(*store, Column::kMeta, "c"), "2");
}

TEST(RocksDbStoreTest, OpenCreatesMissingParentDirectories) {
  TempDir dir;
  const std::string path = dir.Path("a/b/c/db");
  StorePtr store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(std::filesystem::is_directory(path));
}

TEST(RocksDbStoreTest, OpenRejectsEmptyPathAndNonDirectory) {
  EXPECT_EQ(RocksDbStore::Open({.path = ""}).status().code(),
            absl::StatusCode::kInvalidArgument);
  TempDir dir;
  const std::string file = dir.Path("file");
  std::ofstream(file) << "not a database";
  EXPECT_EQ(RocksDbStore::Open({.path = file}).status().code(),
            absl::StatusCode::kInternal);
}

TEST(RocksDbStoreTest, CorruptDatabaseFailsWithDataLoss) {
  TempDir dir;
  const std::string path = dir.Path("db");
  ASSERT_NE(OpenOrDie(path), nullptr);
  // CURRENT names the manifest and must end with a newline.
  std::ofstream(path + "/CURRENT", std::ios::trunc) << "MANIFEST-garbage";
  absl::StatusOr<StorePtr> store = RocksDbStore::Open({.path = path});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss)
      << store.status();
  EXPECT_THAT(store.status().message(), HasSubstr(path));
}

}  // namespace
}  // namespace webhooks::storage
