// The only file in the project that includes RocksDB.
#include "storage/rocksdb_store.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/slice.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "storage/key_codec.h"

#if defined(__SANITIZE_ADDRESS__)
#define WEBHOOKS_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEBHOOKS_LSAN 1
#endif
#endif
#ifdef WEBHOOKS_LSAN
#include <sanitizer/lsan_interface.h>
#endif

namespace webhooks::storage {
namespace {

// Marks an object deliberately never freed, in builds with LeakSanitizer.
void IgnoreLeak([[maybe_unused]] const void* object) {
#ifdef WEBHOOKS_LSAN
  if (object != nullptr) __lsan_ignore_object(object);
#endif
}

// Total memtable memory across all column families.
constexpr size_t kWriteBufferBytes = 64 << 20;
// The WAL size that forces flushes of column families that write rarely, so
// they do not pin old WAL files forever.
constexpr uint64_t kMaxTotalWalBytes = 128 << 20;
constexpr int kBloomBitsPerKey = 10;

// Writes are refused while the disk has less free space than this share of
// its size (within the bounds below) plus the batch: RocksDB 7.8 as Debian
// builds it asserts (SIGABRT) when a synced WAL append fails for lack of
// space, so it must not get to try.
constexpr uint64_t kReserveDivisor = 50;  // 2 %
constexpr uint64_t kMinReserveBytes = 256 << 10;
constexpr uint64_t kMaxReserveBytes = 64 << 20;

// How often a store that cannot write tries to resume (RocksDB's
// DB::Resume) from a write path; Check() always tries.
constexpr absl::Duration kResumeInterval = absl::Milliseconds(500);

// RocksDB's messages name files ("While appending to file: <path>/000012.log:
// No space left on device"); callers must not see server paths, so the
// details go to the server's log (stderr) and callers get the kind.
std::string Logged(const rocksdb::Status& s, const std::string& what) {
  std::string line = absl::StrCat(
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
      " webhookd: storage ", what, ": ", s.ToString(), "\n");
  fputs(line.c_str(), stderr);
  if (s.IsNoSpace()) return "no space left on the server's disk";
  if (s.IsCorruption()) return "data corruption";
  return "I/O error";
}

// Maps a RocksDB status to the absl code the Store contract promises.
absl::Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return absl::OkStatus();
  if (s.IsCorruption() || s.IsNoSpace() || s.IsIOError()) {
    const std::string message = absl::StrCat(
        "storage ", what, ": ", Logged(s, what), " (details in the server log)");
    if (s.IsCorruption()) return absl::DataLossError(message);
    if (s.IsNoSpace()) return absl::ResourceExhaustedError(message);
    return absl::UnavailableError(message);
  }
  std::string message = absl::StrCat("rocksdb ", what, ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(message);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(message);
  if (s.IsNotSupported()) return absl::UnimplementedError(message);
  if (s.IsAborted()) return absl::AbortedError(message);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain() ||
      s.IsShutdownInProgress() || s.IsIncomplete()) {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

// Open's mapping: a held lock means another process (or another Store in
// this one) has the database; any other I/O failure means it cannot be read.
absl::Status FromRocksOpen(const rocksdb::Status& s, const std::string& path) {
  std::string what = absl::StrCat("open ", path);
  if (s.IsIOError() && !s.IsNoSpace()) {
    std::string message = absl::StrCat("rocksdb ", what, ": ", s.ToString());
    // "While lock file: <path>/LOCK: Resource temporarily unavailable" from
    // another process; "lock hold by current process, ..." from this one.
    std::string text = s.ToString();
    if (absl::StrContains(text, "While lock file") ||
        absl::StrContains(text, "lock hold by current process")) {
      return absl::FailedPreconditionError(absl::StrCat(
          "database ", path, " is in use by another store: ", s.ToString()));
    }
    return absl::InternalError(message);
  }
  return FromRocks(s, what);
}

// Columns read by key, which benefit from bloom filters. The index columns
// (by site, by owner, queue, events, attempts) are only scanned.
bool IsPointLookupColumn(Column column) {
  switch (column) {
    case Column::kSubscriptions:
    case Column::kPrincipals:
    case Column::kDialects:
    case Column::kTransactions:
    case Column::kDeliveries:
    case Column::kMeta:
    case Column::kApiKeys:
      return true;
    default:
      return false;
  }
}

// How a column's memtable keeps insert hints (the last insert position, so
// that an insert near the previous one walks up and down the skiplist a few
// levels instead of searching it from the top; RocksDB's own
// sequential-insert splice gives up as soon as a key lands outside it, which
// the writer's interleaved outcomes do every time).
enum class InsertHint {
  kNone,
  // One hint for the column: new ids (time-ordered), the queue's due times.
  kColumn,
  // One hint per subscription (the keys' first component): the attempt
  // rings and ordering lanes, written a slot or a sequence number after the
  // last of the same subscription, but interleaved across subscriptions.
  // Each hint takes some 220 bytes of the memtable's arena per subscription
  // written there, less than the one attempt record that made it.
  kSubscription,
};

InsertHint InsertHintOf(Column column) {
  switch (column) {
    case Column::kTransactionEvents:
    case Column::kDeliveries:
    case Column::kDeliveryQueue:
      return InsertHint::kColumn;
    case Column::kAttempts:
    case Column::kDeliveryOrder:
      return InsertHint::kSubscription;
    default:
      return InsertHint::kNone;
  }
}

// The hint domain of a key: its first string component. Keys without a
// complete one (none of the columns it serves writes such keys) share the
// empty prefix's hint. Every key is in the domain, so each insert scans its
// key once (InDomain and then Transform would scan it twice).
class FirstComponentTransform final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "webhookd.FirstComponent"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), FirstStringComponentLength(
                                          std::string_view(key.data(), key.size())));
  }
  bool InDomain(const rocksdb::Slice&) const override { return true; }
};

rocksdb::ColumnFamilyOptions ColumnOptions(
    std::shared_ptr<rocksdb::Cache> cache, bool bloom, InsertHint hint) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = std::move(cache);
  if (bloom) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(kBloomBitsPerKey));
  }
  rocksdb::ColumnFamilyOptions options;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  switch (hint) {
    case InsertHint::kNone:
      break;
    case InsertHint::kColumn:
      // A prefix of no bytes puts every key in one domain.
      options.memtable_insert_with_hint_prefix_extractor.reset(
          rocksdb::NewFixedPrefixTransform(0));
      break;
    case InsertHint::kSubscription:
      options.memtable_insert_with_hint_prefix_extractor =
          std::make_shared<FirstComponentTransform>();
      break;
  }
  return options;
}

rocksdb::Slice ToSlice(std::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}

std::string_view ToView(const rocksdb::Slice& s) {
  return std::string_view(s.data(), s.size());
}

class RocksDbStoreImpl final : public Store {
 public:
  // Takes ownership of `db` and `handles` (one per Column, in enum order)
  // and `default_handle`.
  // `path` is the database directory, `dir` what stat() said of it at open.
  RocksDbStoreImpl(
      rocksdb::DB* db, rocksdb::ColumnFamilyHandle* default_handle,
      std::array<rocksdb::ColumnFamilyHandle*, kColumnCount> handles,
      std::string path, const struct stat& dir)
      : db_(db),
        default_handle_(default_handle),
        handles_(handles),
        path_(std::move(path)),
        dir_device_(dir.st_dev),
        dir_inode_(dir.st_ino) {}

  RocksDbStoreImpl(const RocksDbStoreImpl&) = delete;
  RocksDbStoreImpl& operator=(const RocksDbStoreImpl&) = delete;

  ~RocksDbStoreImpl() override {
    rocksdb::CancelAllBackgroundWork(db_.get(), /*wait=*/true);
    // With the disk full, or after a write error RocksDB did not recover
    // from, closing writes to files that cannot take it, and RocksDB 7.8 (as
    // Debian builds it) asserts (SIGABRT). Every synced write is in the WAL
    // already: leave the database as a crash would, and let the next open
    // recover it.
    if (write_failed_.load(std::memory_order_acquire) || !HasRoomFor(0) ||
        !DirectoryIntact()) {
      fputs("webhookd: storage: the store cannot take writes; closing without "
            "a final flush (the next start recovers from the WAL)\n",
            stderr);
      // Left behind on purpose (its destructor would abort): tell
      // LeakSanitizer, in sanitizer builds, that this is no leak to report.
      IgnoreLeak(db_.get());
      for (rocksdb::ColumnFamilyHandle* handle : handles_) IgnoreLeak(handle);
      IgnoreLeak(default_handle_);
      (void)db_.release();
      return;
    }
    // Make writes made with sync=false durable too on a clean shutdown.
    db_->FlushWAL(/*sync=*/true).PermitUncheckedError();
    for (rocksdb::ColumnFamilyHandle* handle : handles_) {
      db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
    }
    db_->DestroyColumnFamilyHandle(default_handle_).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
  }

  absl::StatusOr<std::optional<std::string>> Get(
      Column column, std::string_view key) const override {
    rocksdb::ColumnFamilyHandle* handle = Handle(column);
    if (handle == nullptr) return NotAColumn(column);
    std::string value;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), handle, ToSlice(key), &value);
    if (s.IsNotFound()) return std::nullopt;
    if (!s.ok()) return FromRocks(s, "get");
    return value;
  }

  absl::Status Write(const WriteBatch& batch, WriteOptions options) override {
    RETURN_IF_ERROR(ReadyToWrite(batch.ByteSize()));
    // Room for every record: its bytes plus a tag, a column id and two
    // lengths (varints), after the 12-byte header.
    rocksdb::WriteBatch rocks_batch(12 + batch.ByteSize() + 16 * batch.size());
    // The operations go in by column and key, so that each memtable's
    // inserts come in ascending runs that its insert hint follows (see
    // InsertHintOf). A stable sort keeps the order of operations on
    // one key, and a batch applies atomically, so this is the same batch.
    std::vector<uint32_t> order(batch.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
    std::stable_sort(order.begin(), order.end(), [&batch](uint32_t a, uint32_t b) {
      const WriteBatch::Op x = batch.op(a), y = batch.op(b);
      if (x.column != y.column) return x.column < y.column;
      return x.key < y.key;
    });
    for (uint32_t i : order) {
      const WriteBatch::Op op = batch.op(i);
      rocksdb::ColumnFamilyHandle* handle = Handle(op.column);
      if (handle == nullptr) return NotAColumn(op.column);
      rocksdb::Status s;
      switch (op.type) {
        case WriteBatch::OpType::kPut:
          s = rocks_batch.Put(handle, ToSlice(op.key), ToSlice(op.value));
          break;
        case WriteBatch::OpType::kDelete:
          s = rocks_batch.Delete(handle, ToSlice(op.key));
          break;
      }
      if (!s.ok()) return FromRocks(s, "batch");
    }
    rocksdb::WriteOptions write_options;
    write_options.sync = options.sync;
    if (batch.expectation_count() == 0) {
      return Written(db_->Write(write_options, &rocks_batch));
    }
    // Conditional batches check and write one at a time (see
    // WriteBatch::Expect: every writer of an expected key expects it, so
    // nothing else changes it between the check and the write).
    absl::MutexLock lock(&conditional_mu_);
    for (size_t i = 0; i < batch.expectation_count(); ++i) {
      const WriteBatch::Expectation expected = batch.expectation(i);
      ASSIGN_OR_RETURN(std::optional<std::string> current,
                       Get(expected.column, expected.key));
      if (current != expected.value) return ExpectationFailed(expected);
    }
    return Written(db_->Write(write_options, &rocks_batch));
  }

  absl::Status Check() const override {
    if (!DirectoryIntact()) return DirectoryGone();
    if (!HasRoomFor(0)) {
      return absl::UnavailableError(
          "storage cannot write: the server's disk is (nearly) full");
    }
    if (!write_failed_.load(std::memory_order_acquire)) return absl::OkStatus();
    return TryResume();
  }

  absl::Status Scan(Column column, std::string_view start, std::string_view end,
                    ScanVisitor visitor) const override {
    rocksdb::ColumnFamilyHandle* handle = Handle(column);
    if (handle == nullptr) return NotAColumn(column);
    // The iterator reads the implicit snapshot taken when it is created.
    rocksdb::ReadOptions read_options;
    rocksdb::Slice upper_bound = ToSlice(end);  // must outlive the iterator
    if (!end.empty()) read_options.iterate_upper_bound = &upper_bound;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(read_options, handle));
    for (it->Seek(ToSlice(start)); it->Valid(); it->Next()) {
      if (!visitor(ToView(it->key()), ToView(it->value()))) break;
    }
    return FromRocks(it->status(), "scan");
  }

 private:
  // The database directory is still the one opened (not deleted, not
  // replaced): RocksDB keeps writing to open files of a deleted directory.
  bool DirectoryIntact() const {
    struct stat now;
    return ::stat(path_.c_str(), &now) == 0 && now.st_dev == dir_device_ &&
           now.st_ino == dir_inode_;
  }

  static absl::Status DirectoryGone() {
    return absl::UnavailableError(
        "storage: the data directory was removed or replaced while the "
        "server runs; restart it");
  }

  // Whether the disk has its reserve and `bytes` more free (true when
  // statvfs fails: RocksDB then finds out).
  bool HasRoomFor(uint64_t bytes) const {
    struct statvfs fs;
    if (::statvfs(path_.c_str(), &fs) != 0) return true;
    const uint64_t size = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize;
    const uint64_t free = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
    const uint64_t reserve = std::clamp(size / kReserveDivisor,
                                        kMinReserveBytes, kMaxReserveBytes);
    return free >= reserve + bytes;
  }

  // OK, or why nothing can be written now. After a failed write, tries
  // DB::Resume at most every kResumeInterval.
  absl::Status ReadyToWrite(uint64_t bytes) const {
    if (!DirectoryIntact()) return DirectoryGone();
    if (!HasRoomFor(bytes)) {
      return absl::ResourceExhaustedError(
          "storage: the server's disk is (nearly) full; writes are refused "
          "until space is freed");
    }
    if (!write_failed_.load(std::memory_order_acquire)) return absl::OkStatus();
    {
      absl::MutexLock lock(&resume_mu_);
      if (absl::Now() - last_resume_ < kResumeInterval) return last_error_;
    }
    return TryResume();
  }

  // Recovers from RocksDB's background error (a full disk, a failed WAL
  // write): flushes to a new WAL and lets writes in again. UNAVAILABLE while
  // it cannot.
  absl::Status TryResume() const {
    absl::MutexLock lock(&resume_mu_);
    if (!write_failed_.load(std::memory_order_acquire)) return absl::OkStatus();
    last_resume_ = absl::Now();
    rocksdb::Status resumed = db_->Resume();
    if (resumed.ok()) {
      write_failed_.store(false, std::memory_order_release);
      fputs("webhookd: storage: writes resumed\n", stderr);
      return absl::OkStatus();
    }
    absl::Status error = FromRocks(resumed, "resume");
    last_error_ = absl::UnavailableError(
        absl::StrCat("storage cannot write: ", error.message()));
    return last_error_;
  }

  // A write's status; a failed write may have put RocksDB in its background
  // error state, which only Resume ends.
  absl::Status Written(const rocksdb::Status& s) {
    if (!s.ok() && (s.IsNoSpace() || s.IsIOError())) {
      absl::MutexLock lock(&resume_mu_);
      write_failed_.store(true, std::memory_order_release);
      last_resume_ = absl::Now();
      last_error_ = absl::UnavailableError(
          "storage cannot write: waiting for the disk (details in the server "
          "log)");
    }
    return FromRocks(s, "write");
  }

  rocksdb::ColumnFamilyHandle* Handle(Column column) const {
    int index = static_cast<int>(column);
    if (index < 0 || index >= kColumnCount) return nullptr;
    return handles_[index];
  }


  absl::Mutex conditional_mu_;
  std::unique_ptr<rocksdb::DB> db_;  // released unclosed on a full disk
  rocksdb::ColumnFamilyHandle* const default_handle_;
  const std::array<rocksdb::ColumnFamilyHandle*, kColumnCount> handles_;
  const std::string path_;
  const dev_t dir_device_;
  const ino_t dir_inode_;

  // Set by a failed write, cleared by a successful DB::Resume.
  mutable std::atomic<bool> write_failed_{false};
  mutable absl::Mutex resume_mu_;
  mutable absl::Time last_resume_ ABSL_GUARDED_BY(resume_mu_) =
      absl::InfinitePast();
  mutable absl::Status last_error_ ABSL_GUARDED_BY(resume_mu_);
};

}  // namespace

absl::StatusOr<StorePtr> RocksDbStore::Open(const RocksDbOptions& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("RocksDbStore: empty path");
  }
  std::error_code error;
  std::filesystem::create_directories(options.path, error);
  if (error) {
    return absl::InternalError(absl::StrCat(
        "RocksDbStore: cannot create ", options.path, ": ", error.message()));
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.db_write_buffer_size = kWriteBufferBytes;
  db_options.max_total_wal_size = kMaxTotalWalBytes;
  db_options.keep_log_file_num = 5;

  std::shared_ptr<rocksdb::Cache> cache =
      rocksdb::NewLRUCache(options.block_cache_bytes);
  // RocksDB requires the default column family; no Column uses it.
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName,
                           ColumnOptions(cache, /*bloom=*/false, InsertHint::kNone));
  for (Column column : AllColumns()) {
    descriptors.emplace_back(std::string(ColumnName(column)),
                             ColumnOptions(cache, IsPointLookupColumn(column),
                                           InsertHintOf(column)));
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &db);
  if (!s.ok()) return FromRocksOpen(s, options.path);
  std::array<rocksdb::ColumnFamilyHandle*, kColumnCount> column_handles;
  for (int i = 0; i < kColumnCount; ++i) column_handles[i] = handles[i + 1];
  struct stat dir = {};
  ::stat(options.path.c_str(), &dir);
  return std::make_unique<RocksDbStoreImpl>(db, handles[0], column_handles,
                                            options.path, dir);
}

}  // namespace webhooks::storage
