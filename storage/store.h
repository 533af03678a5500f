// The storage interface: an ordered key-value store with a fixed set of
// columns and atomic, durable batches. Keys are built by storage/key_codec.h.
//
//   WriteBatch batch;
//   batch.Put(Column::kSubscriptions, id, record_bytes);
//   batch.Put(Column::kSubscriptionsBySite, site_key, "");
//   RETURN_IF_ERROR(store.Write(batch));  // durable when it returns OK
//
// Implementations: MemoryStore (tests), RocksDbStore (the default, one
// node) and PostgresStore (cluster mode, several nodes; see
// storage/cluster_store.h for what it adds).
// A Store is safe for concurrent use from many threads without external
// synchronization. Reads see every write that returned before they began.
#ifndef WEBHOOKS_STORAGE_STORE_H_
#define WEBHOOKS_STORAGE_STORE_H_

#include <array>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace webhooks::storage {

// The columns (RocksDB column families). The numbering is not stored; the
// names are.
enum class Column : int {
  kSubscriptions = 0,     // subscription id -> SubscriptionRecord
  kSubscriptionsBySite,   // keys::SubscriptionSite(...) -> ""
  kSubscriptionsByOwner,  // keys::SubscriptionOwner(...) -> ""
  kPrincipals,            // principal id -> PrincipalRecord
  kDialects,              // dialect name -> DialectRecord
  kTransactions,          // keys::Transaction(owner, id) -> TransactionRecord
  kTransactionEvents,     // keys::TransactionEvent(tx key, event id) -> event
  kDeliveries,            // delivery id -> delivery record
  kDeliveryQueue,         // keys::QueueEntry(due, delivery id) -> ""
  kAttempts,              // keys::Attempt(subscription id, slot) -> attempt
  kMeta,                  // store-wide values (schema version, counters)
  kTransactionDeadlines,  // keys::TransactionDeadline(when, tx key) -> ""
  kApiKeys,               // API key id -> ApiKeyRecord
  kDeliveryOrder,         // keys::DeliveryOrder(sub, key, seq) -> delivery id
};
inline constexpr int kColumnCount = 14;

// Whether `column` is one of the Columns (not a value cast from elsewhere),
// and the INVALID_ARGUMENT a store answers for one that is not.
bool IsColumn(Column column);
absl::Status NotAColumn(Column column);

// The stable on-disk name of a column.
std::string_view ColumnName(Column column);

// Every column, in enum order.
std::array<Column, kColumnCount> AllColumns();

// Mutations applied together or not at all by Store::Write.
// Not thread-safe; build it on one thread. Keys and values are copied into
// one buffer (a commit stages hundreds of them: no allocation per string).
class WriteBatch {
 public:
  enum class OpType { kPut, kDelete };
  // One operation; the views point into the batch and stay valid until it
  // is changed or destroyed.
  struct Op {
    OpType type;
    Column column;
    std::string_view key;
    std::string_view value;  // empty for deletes
  };

  void Put(Column column, std::string_view key, std::string_view value);
  void Delete(Column column, std::string_view key);

  // A precondition of the whole batch: Store::Write applies it only if,
  // when it applies, `key` of `column` holds exactly `value` (std::nullopt:
  // is absent). Otherwise it writes nothing and returns ABORTED. This is how
  // a read-modify-write stays correct when several processes share one
  // store (cluster mode): read, decide, Expect what was read, Write, and
  // start again on ABORTED. Keys that are ever expected must only be
  // written by batches that expect them, or by one writer at a time.
  void Expect(Column column, std::string_view key,
              std::optional<std::string_view> value);
  struct Expectation {
    Column column;
    std::string_view key;
    std::optional<std::string_view> value;
  };
  size_t expectation_count() const { return expectations_.size(); }
  Expectation expectation(size_t i) const {
    const ExpectEntry& e = expectations_[i];
    const std::string_view bytes(expected_bytes_);
    std::optional<std::string_view> value;
    if (e.present) value = bytes.substr(e.pos + e.key_len, e.value_len);
    return Expectation{e.column, bytes.substr(e.pos, e.key_len), value};
  }
  // Appends `other`'s operations after this batch's.
  void Append(const WriteBatch& other);

  size_t size() const { return entries_.size(); }
  // No operations (a batch with only expectations is empty: it checks).
  bool empty() const { return entries_.empty(); }
  Op op(size_t i) const {
    const Entry& e = entries_[i];
    const std::string_view bytes(bytes_);
    return Op{e.type, e.column, bytes.substr(e.pos, e.key_len),
              bytes.substr(e.pos + e.key_len, e.value_len)};
  }
  // Every operation, in order.
  std::vector<Op> ops() const;
  size_t ByteSize() const { return bytes_.size(); }  // keys + values

 private:
  struct Entry {
    OpType type;
    Column column;
    size_t pos;  // of the key in bytes_; the value follows it
    size_t key_len;
    size_t value_len;
  };
  std::vector<Entry> entries_;
  std::string bytes_;
  struct ExpectEntry {
    Column column;
    bool present;
    size_t pos;
    size_t key_len;
    size_t value_len;
  };
  std::vector<ExpectEntry> expectations_;
  std::string expected_bytes_;
};

// The error Store::Write returns when an expectation does not hold.
absl::Status ExpectationFailed(const WriteBatch::Expectation& expectation);
// True for that error (ABORTED): read again and retry.
bool IsExpectationFailure(const absl::Status& status);

struct WriteOptions {
  // When true (the default) Write returns only after the batch is in the
  // write-ahead log on stable storage, so it survives a crash or `kill -9`.
  // Concurrent synced writes share one sync (group commit).
  bool sync = true;
};

// Receives one key and value of a Scan; returns false to stop the scan.
using ScanVisitor =
    absl::FunctionRef<bool(std::string_view key, std::string_view value)>;

// One range of a ScanRanges: the keys k with start <= k < end (an empty
// `end` means no upper bound), at most `limit` of them (limit > 0).
struct ScanRange {
  std::string start;
  std::string end;
  int64_t limit = 0;
};

// Receives the index of its range, one key and its value; returns false to
// stop the whole ScanRanges.
using RangeVisitor = absl::FunctionRef<bool(
    size_t range, std::string_view key, std::string_view value)>;

class Store {
 public:
  virtual ~Store() = default;

  // Returns the value at `key`, std::nullopt when absent, or an error when the
  // store cannot be read (UNAVAILABLE / DATA_LOSS / INTERNAL).
  virtual absl::StatusOr<std::optional<std::string>> Get(
      Column column, std::string_view key) const = 0;

  // Applies every operation of `batch` atomically, in order, once every
  // expectation of the batch holds (ABORTED, nothing written, otherwise).
  // Errors: UNAVAILABLE while the store cannot be reached (nothing or
  // everything may have been applied only when it says so), RESOURCE_EXHAUSTED
  // when it is full, INVALID_ARGUMENT for a batch no store could apply.
  virtual absl::Status Write(const WriteBatch& batch,
                             WriteOptions options = {}) = 0;

  // Visits, in ascending byte order, the keys k with start <= k < end
  // (an empty `end` means no upper bound), until `visitor` returns false.
  // The scan reads one consistent snapshot. `visitor` must not call back
  // into the store (MemoryStore holds its lock while visiting): collect what
  // it needs and act after Scan returns.
  virtual absl::Status Scan(Column column, std::string_view start,
                            std::string_view end,
                            ScanVisitor visitor) const = 0;

  // Visits the ranges one after the other, each in ascending byte order and
  // at most its limit of keys, until `visitor` returns false. Each range
  // reads a consistent snapshot (not necessarily one for all). A store
  // across a network reads every range in one round trip; the default scans
  // them one by one. The same rule as Scan: `visitor` must not call back
  // into the store.
  virtual absl::Status ScanRanges(Column column,
                                  std::span<const ScanRange> ranges,
                                  RangeVisitor visitor) const;

  // The values at `keys` (std::nullopt where absent), in the order of
  // `keys` (a key may repeat). A store across a network reads them all in
  // one round trip; the default calls Get for each.
  virtual absl::StatusOr<std::vector<std::optional<std::string>>> MultiGet(
      Column column, std::span<const std::string> keys) const;

  // The number of keys in `column`. The default scans them; a store across
  // a network counts where the data is.
  virtual absl::StatusOr<int64_t> Count(Column column) const;

  // OK while the store can be read and written; UNAVAILABLE (with the
  // reason) while it cannot, for health checks. Cheap: a ping at most.
  virtual absl::Status Check() const { return absl::OkStatus(); }

  // Visits every key that begins with `prefix`, in order.
  absl::Status ScanPrefix(Column column, std::string_view prefix,
                          ScanVisitor visitor) const;
};

using StorePtr = std::unique_ptr<Store>;

// The smallest key greater than every key that begins with `prefix`; empty
// when there is none (prefix empty or all 0xff).
std::string PrefixSuccessor(std::string_view prefix);

}  // namespace webhooks::storage

#endif  // WEBHOOKS_STORAGE_STORE_H_
