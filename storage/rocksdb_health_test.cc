// RocksDbStore on a bad day (issue 15): a full disk (a small tmpfs; skipped
// where mounting is not permitted), a data directory removed while open.
#include <stdlib.h>
#include <sys/mount.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/rocksdb_store.h"

namespace webhooks::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string NewDir() {
  std::string pattern = ::testing::TempDir() + "rocksdb_health_test.XXXXXX";
  return mkdtemp(pattern.data()) == nullptr ? "" : pattern;
}

// A 16 MiB tmpfs mounted on a fresh directory, unmounted and removed at the
// end; path() is empty when mounting is not permitted.
class SmallDisk {
 public:
  SmallDisk() {
    dir_ = NewDir();
    if (dir_.empty()) return;
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=16m") != 0) {
      std::filesystem::remove(dir_);
      dir_.clear();
    }
  }
  ~SmallDisk() {
    if (dir_.empty()) return;
    ::umount2(dir_.c_str(), MNT_DETACH);
    std::error_code error;
    std::filesystem::remove_all(dir_, error);
  }
  const std::string& path() const { return dir_; }

  // Fills the disk with a file of its own; FreeUp() removes it.
  void Fill() {
    std::ofstream out(dir_ + "/filler", std::ios::binary);
    const std::string block(1 << 16, 'x');
    while (out.write(block.data(), block.size())) {
    }
  }
  void FreeUp() { std::filesystem::remove(dir_ + "/filler"); }

 private:
  std::string dir_;
};

WriteBatch BigBatch(int i) {
  WriteBatch batch;
  batch.Put(Column::kMeta, absl::StrCat("key", i), std::string(64 << 10, 'v'));
  return batch;
}

// Writes until one fails; that failure (OK if none did in 200 writes).
absl::Status WriteUntilFailure(Store& store) {
  for (int i = 0; i < 200; ++i) {
    absl::Status written = store.Write(BigBatch(i));
    if (!written.ok()) return written;
  }
  return absl::OkStatus();
}

TEST(RocksDbHealthTest, FullDiskReportsRecoversAndClosesCleanly) {
  SmallDisk disk;
  if (disk.path().empty()) GTEST_SKIP() << "cannot mount a tmpfs here";
  absl::StatusOr<StorePtr> store = RocksDbStore::Open({.path = disk.path() + "/db"});
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Check().ok());
  disk.Fill();
  absl::Status failed = WriteUntilFailure(**store);
  ASSERT_FALSE(failed.ok()) << "a full disk took every write";
  EXPECT_TRUE(absl::IsResourceExhausted(failed) || absl::IsUnavailable(failed))
      << failed;
  EXPECT_THAT(failed.message(), Not(HasSubstr(disk.path())));
  absl::Status check = (*store)->Check();
  EXPECT_TRUE(absl::IsUnavailable(check)) << check;
  EXPECT_THAT(check.message(), Not(HasSubstr(disk.path())));
  absl::Status refused = (*store)->Write(BigBatch(1000));
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(refused.message(), Not(HasSubstr(disk.path())));

  // Space comes back: the store resumes by itself.
  disk.FreeUp();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!(*store)->Check().ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE((*store)->Check().ok()) << (*store)->Check();
  WriteBatch small;
  small.Put(Column::kMeta, "after", "1");
  ASSERT_TRUE((*store)->Write(small).ok());
  absl::StatusOr<std::optional<std::string>> read =
      (*store)->Get(Column::kMeta, "after");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->value_or(""), "1");
  store->reset();  // closes without aborting

  absl::StatusOr<StorePtr> reopened =
      RocksDbStore::Open({.path = disk.path() + "/db"});
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  read = (*reopened)->Get(Column::kMeta, "after");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->value_or(""), "1");
}

// Issue 15: SIGTERM after a write error ended in SIGABRT
// (WritableFileWriter::AssertFalseAndGetStatusForPrevError).
TEST(RocksDbHealthTest, ClosesWithoutAbortWhileTheDiskIsStillFull) {
  SmallDisk disk;
  if (disk.path().empty()) GTEST_SKIP() << "cannot mount a tmpfs here";
  absl::StatusOr<StorePtr> store = RocksDbStore::Open({.path = disk.path() + "/db"});
  ASSERT_TRUE(store.ok()) << store.status();
  disk.Fill();
  ASSERT_FALSE(WriteUntilFailure(**store).ok());
  store->reset();  // an abort here fails the whole test binary
}

TEST(RocksDbHealthTest, RemovedDataDirectoryIsDetected) {
  const std::string dir = NewDir();
  ASSERT_FALSE(dir.empty());
  absl::StatusOr<StorePtr> store = RocksDbStore::Open({.path = dir + "/db"});
  ASSERT_TRUE(store.ok()) << store.status();
  WriteBatch batch;
  batch.Put(Column::kMeta, "k", "v");
  ASSERT_TRUE((*store)->Write(batch).ok());
  std::filesystem::remove_all(dir + "/db");
  absl::Status check = (*store)->Check();
  EXPECT_TRUE(absl::IsUnavailable(check)) << check;
  EXPECT_THAT(check.message(), HasSubstr("data directory was removed"));
  absl::Status write = (*store)->Write(batch);
  EXPECT_TRUE(absl::IsUnavailable(write)) << write;
  EXPECT_THAT(write.message(), Not(HasSubstr(dir)));
  store->reset();
  std::error_code error;
  std::filesystem::remove_all(dir, error);
}

}  // namespace
}  // namespace webhooks::storage
