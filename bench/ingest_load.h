// The load generators of ingest_bench: N threads submitting transactions of
// K events for a fixed time, three ways:
//  - RunGrpcLoad: Prepare + Commit through gRPC sync stubs (the product);
//  - RunDomainLoad: core::TransactionLog::Prepare + Commit called directly
//    (the product without gRPC, to attribute costs);
//  - RunStoreCeiling: only the storage writes Prepare and Commit make (same
//    keys, value sizes, two synced batches per transaction) through the
//    Store interface: what the disk and RocksDB allow.
//
//   LoadResult r = RunGrpcLoad(channels, workload, {.clients = 32,
//                                                   .events_per_tx = 100});
#ifndef WEBHOOKS_BENCH_INGEST_LOAD_H_
#define WEBHOOKS_BENCH_INGEST_LOAD_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/stats.h"
#include "bench/workload.h"
#include "core/transaction_log.h"
#include "grpcpp/grpcpp.h"
#include "storage/store.h"

namespace webhooks::bench {

struct LoadOptions {
  int clients = 8;
  int events_per_tx = 100;
  double warmup_s = 1;
  double duration_s = 10;
  // Makes transaction ids unique across runs over one database.
  std::string tag = "run";
  uint64_t seed = 1;
  // Called on the driving thread as the measured window opens and as it
  // closes (cluster_bench reads other processes' counters there).
  std::function<void()> on_window_start = nullptr;
  std::function<void()> on_window_end = nullptr;
};

struct LoadResult {
  double seconds = 0;  // measured wall time
  int64_t transactions = 0;
  int64_t events = 0;
  int64_t deliveries = 0;
  int64_t errors = 0;
  std::string first_error;
  std::vector<double> prepare_us;  // one per measured transaction
  std::vector<double> commit_us;
  CpuUse cpu;

  double events_per_s() const { return seconds > 0 ? events / seconds : 0; }
  double deliveries_per_s() const {
    return seconds > 0 ? deliveries / seconds : 0;
  }
};

// The outcome of one transaction.
struct TxOutcome {
  bool ok = false;
  int64_t events = 0;
  int64_t deliveries = 0;
  double prepare_s = 0;
  double commit_s = 0;
  std::string error;
};

// Per-thread work: makes one transaction with sequence number `seq`.
using TxFn = std::function<TxOutcome(int64_t seq)>;
// Called on each load thread before the clock starts; builds its state.
using WorkerFactory = std::function<TxFn(int thread)>;

// Runs options.clients threads, each calling its TxFn in a loop; counts the
// transactions that finish within the measured window (after the warm-up).
LoadResult DriveLoad(const LoadOptions& options, const WorkerFactory& factory);

LoadResult RunGrpcLoad(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    const Workload& workload, const LoadOptions& options);

LoadResult RunDomainLoad(core::TransactionLog* log, const Workload& workload,
                         const LoadOptions& options);

// `deliveries_per_event` sets how many delivery records each commit batch
// holds (as measured for the same workload through the product).
LoadResult RunStoreCeiling(storage::Store* store, const Workload& workload,
                           double deliveries_per_event,
                           const LoadOptions& options);

}  // namespace webhooks::bench

#endif  // WEBHOOKS_BENCH_INGEST_LOAD_H_
