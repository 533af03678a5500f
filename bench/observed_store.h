// A Store that forwards to another and keeps figures for delivery_bench:
//  - durable outcomes: attempt records (Column::kAttempts puts) in writes
//    that returned OK, i.e. delivery outcomes on disk;
//  - what the dispatcher thread spends in the store: calls and time per
//    column for Get and Scan, and its synced writes. The dispatcher thread
//    is recognized as the one that writes attempt records.
//
//   auto store = std::make_unique<ObservedStore>(std::move(rocksdb));
//   ObservedStore::Figures before = store->figures();
#ifndef WEBHOOKS_BENCH_OBSERVED_STORE_H_
#define WEBHOOKS_BENCH_OBSERVED_STORE_H_

#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "storage/store.h"

namespace webhooks::bench {

class ObservedStore final : public storage::Store {
 public:
  struct Calls {
    int64_t count = 0;
    int64_t nanos = 0;
  };
  // A snapshot; subtract two for a window.
  struct Figures {
    int64_t durable_outcomes = 0;
    int64_t dispatcher_tid = 0;
    std::array<Calls, storage::kColumnCount> gets{};   // dispatcher thread
    std::array<Calls, storage::kColumnCount> scans{};  // dispatcher thread
    Calls outcome_writes;  // dispatcher thread, batches with attempt records
    Calls other_writes;    // dispatcher thread, the rest (health, abandon)
    int64_t outcome_write_ops = 0;
    // Bytes of keys and values written, per column, by every thread.
    std::array<int64_t, storage::kColumnCount> written_bytes{};

    Figures operator-(const Figures& o) const {
      Figures d = *this;
      d.durable_outcomes -= o.durable_outcomes;
      for (int i = 0; i < storage::kColumnCount; ++i) {
        d.gets[i].count -= o.gets[i].count;
        d.gets[i].nanos -= o.gets[i].nanos;
        d.scans[i].count -= o.scans[i].count;
        d.scans[i].nanos -= o.scans[i].nanos;
        d.written_bytes[i] -= o.written_bytes[i];
      }
      d.outcome_writes.count -= o.outcome_writes.count;
      d.outcome_writes.nanos -= o.outcome_writes.nanos;
      d.other_writes.count -= o.other_writes.count;
      d.other_writes.nanos -= o.other_writes.nanos;
      d.outcome_write_ops -= o.outcome_write_ops;
      return d;
    }
  };

  explicit ObservedStore(storage::StorePtr inner) : inner_(std::move(inner)) {}

  absl::StatusOr<std::optional<std::string>> Get(
      storage::Column column, std::string_view key) const override {
    if (!OnDispatcher()) return inner_->Get(column, key);
    const int64_t t0 = Nanos();
    auto result = inner_->Get(column, key);
    Add(gets_[Index(column)], Nanos() - t0);
    return result;
  }

  absl::Status Write(const storage::WriteBatch& batch,
                     storage::WriteOptions options) override {
    int64_t attempts = 0;
    for (const storage::WriteBatch::Op& op : batch.ops()) {
      written_bytes_[Index(op.column)].fetch_add(
          static_cast<int64_t>(op.key.size() + op.value.size()),
          std::memory_order_relaxed);
      if (op.column == storage::Column::kAttempts &&
          op.type == storage::WriteBatch::OpType::kPut) {
        ++attempts;
      }
    }
    if (attempts > 0 && dispatcher_tid_.load(std::memory_order_relaxed) == 0) {
      dispatcher_tid_.store(Tid());
    }
    const bool dispatcher = OnDispatcher();
    const int64_t t0 = Nanos();
    absl::Status status = inner_->Write(batch, options);
    const int64_t nanos = Nanos() - t0;
    if (status.ok() && attempts > 0) {
      durable_outcomes_.fetch_add(attempts, std::memory_order_relaxed);
    }
    if (dispatcher) {
      Add(attempts > 0 ? outcome_writes_ : other_writes_, nanos);
      if (attempts > 0) {
        outcome_write_ops_.fetch_add(static_cast<int64_t>(batch.ops().size()),
                                     std::memory_order_relaxed);
      }
    }
    return status;
  }

  absl::Status Scan(storage::Column column, std::string_view start,
                    std::string_view end,
                    storage::ScanVisitor visitor) const override {
    if (column == storage::Column::kDeliveryQueue &&
        fetcher_tid_.load(std::memory_order_relaxed) == 0) {
      fetcher_tid_.store(Tid());
    }
    if (!OnDispatcher()) return inner_->Scan(column, start, end, visitor);
    const int64_t t0 = Nanos();
    absl::Status status = inner_->Scan(column, start, end, visitor);
    Add(scans_[Index(column)], Nanos() - t0);
    return status;
  }

  Figures figures() const {
    Figures f;
    f.durable_outcomes = durable_outcomes_.load();
    f.dispatcher_tid = dispatcher_tid_.load();
    for (int i = 0; i < storage::kColumnCount; ++i) {
      f.gets[i] = Load(gets_[i]);
      f.scans[i] = Load(scans_[i]);
      f.written_bytes[i] = written_bytes_[i].load();
    }
    f.outcome_writes = Load(outcome_writes_);
    f.other_writes = Load(other_writes_);
    f.outcome_write_ops = outcome_write_ops_.load();
    return f;
  }
  int64_t durable_outcomes() const { return durable_outcomes_.load(); }
  // The dispatcher's two threads: the one that writes attempt records, and
  // the one that scans the queue.
  int dispatcher_tid() const { return dispatcher_tid_.load(); }
  int fetcher_tid() const { return fetcher_tid_.load(); }

 private:
  struct AtomicCalls {
    std::atomic<int64_t> count{0};
    std::atomic<int64_t> nanos{0};
  };

  static int Tid() {
    thread_local const int tid = static_cast<int>(syscall(SYS_gettid));
    return tid;
  }
  bool OnDispatcher() const {
    const int d = dispatcher_tid_.load(std::memory_order_relaxed);
    const int f = fetcher_tid_.load(std::memory_order_relaxed);
    return (d != 0 && d == Tid()) || (f != 0 && f == Tid());
  }
  static int64_t Nanos() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  static size_t Index(storage::Column c) { return static_cast<size_t>(c); }
  static void Add(AtomicCalls& calls, int64_t nanos) {
    calls.count.fetch_add(1, std::memory_order_relaxed);
    calls.nanos.fetch_add(nanos, std::memory_order_relaxed);
  }
  static Calls Load(const AtomicCalls& calls) {
    return Calls{calls.count.load(), calls.nanos.load()};
  }

  storage::StorePtr inner_;
  std::atomic<int64_t> durable_outcomes_{0};
  std::atomic<int> dispatcher_tid_{0};
  mutable std::atomic<int> fetcher_tid_{0};
  mutable std::array<AtomicCalls, storage::kColumnCount> gets_;
  mutable std::array<AtomicCalls, storage::kColumnCount> scans_;
  AtomicCalls outcome_writes_;
  AtomicCalls other_writes_;
  std::atomic<int64_t> outcome_write_ops_{0};
  std::array<std::atomic<int64_t>, storage::kColumnCount> written_bytes_{};
};

}  // namespace webhooks::bench

#endif  // WEBHOOKS_BENCH_OBSERVED_STORE_H_
