// What the parts of delivery_bench share: the flags read outside
// delivery_bench.cc, the state of a run (Bench, with the Recorder of what
// the receivers saw), starting and stopping webhookd, the gRPC Publisher,
// per-thread CPU figures, and the runs each part defines:
//   delivery_bench_setup.cc       helpers, Recorder, Bench, StartApp, Publisher;
//   delivery_bench_throughput.cc  ceilings (wrk, libcurl loop, CurlSender),
//                                 ours and drain, the dispatcher profile;
//   delivery_bench_latency.cc     latency, aging and memory;
//   delivery_bench.cc             the flags, Run() and main.
#ifndef WEBHOOKS_BENCH_DELIVERY_BENCH_H_
#define WEBHOOKS_BENCH_DELIVERY_BENCH_H_

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/curl_ceiling.h"
#include "bench/gate_sender.h"
#include "bench/http_receiver.h"
#include "bench/observed_store.h"
#include "bench/stats.h"
#include "core/http_sender.h"
#include "delivery/curl_sender.h"
#include "grpcpp/grpcpp.h"
#include "server/application.h"
#include "tests/test_certificates.h"
#include "webhooks/v1/event.grpc.pb.h"

// Defined in delivery_bench.cc, read by the other parts.
ABSL_DECLARE_FLAG(double, duration_s);
ABSL_DECLARE_FLAG(double, warmup_s);
ABSL_DECLARE_FLAG(int, concurrency);
ABSL_DECLARE_FLAG(int, max_in_flight);
ABSL_DECLARE_FLAG(int, max_idle_connections);
ABSL_DECLARE_FLAG(int, sender_threads);
ABSL_DECLARE_FLAG(bool, instant_sender);
ABSL_DECLARE_FLAG(int, saturated_write_interval_ms);
ABSL_DECLARE_FLAG(std::string, wrk);
ABSL_DECLARE_FLAG(int, wrk_threads);
ABSL_DECLARE_FLAG(int, publishers);
ABSL_DECLARE_FLAG(int, body_bytes);
ABSL_DECLARE_FLAG(int64_t, backlog);
ABSL_DECLARE_FLAG(int64_t, drain_deliveries);
ABSL_DECLARE_FLAG(double, latency_duration_s);
ABSL_DECLARE_FLAG(int64_t, latency_min_events);
ABSL_DECLARE_FLAG(int, latency_publishers);
ABSL_DECLARE_FLAG(int64_t, pending);
ABSL_DECLARE_FLAG(int, memory_subs_per_event);
ABSL_DECLARE_FLAG(bool, memory_drain);
ABSL_DECLARE_FLAG(bool, fresh_store);
ABSL_DECLARE_FLAG(std::string, aging_steps);
ABSL_DECLARE_FLAG(int64_t, aging_rate);
ABSL_DECLARE_FLAG(bool, profile);

namespace webhooks::bench {

// ---------------------------------------------------------------------------
// Helpers (delivery_bench_setup.cc).

// The non-empty items of a comma-separated list.
std::vector<std::string> Split(const std::string& list);
// The positive integers of a comma-separated list.
std::vector<int64_t> ParseInts(const std::string& list);
// Whether a comma-separated list holds `item`.
bool Has(const std::string& list, std::string_view item);

void SleepFor(double seconds);

// Prints "delivery_bench: what: status" to stderr; returns 1.
int Fail(std::string_view what, const absl::Status& status);

// What the scheduler knows of one thread of this process: seconds on a
// CPU and seconds runnable but waiting for one (/proc/.../schedstat), and
// how often it was switched out: preempted (nonvoluntary_ctxt_switches)
// or waiting for something (voluntary, /proc/.../status).
struct ThreadTimes {
  double cpu = 0;
  double waiting = 0;
  double preempted = 0;
  double blocked = 0;
  ThreadTimes operator-(const ThreadTimes& o) const {
    return {cpu - o.cpu, waiting - o.waiting, preempted - o.preempted,
            blocked - o.blocked};
  }
  ThreadTimes operator+(const ThreadTimes& o) const {
    return {cpu + o.cpu, waiting + o.waiting, preempted + o.preempted,
            blocked + o.blocked};
  }
};

ThreadTimes ThreadSched(int tid);
ThreadTimes ThreadsSched(const std::vector<int>& tids);
// This process's threads whose name begins with `prefix`.
std::vector<int> ThreadsNamed(std::string_view prefix);

// "0.35 cores (+0.20 waiting for a CPU), 60.4 us CPU each, switched out
// 0.31 (0.25 preempted) per 1000" (per 1000 of `n`)
std::string Use(const ThreadTimes& t, double n, double seconds);

// ---------------------------------------------------------------------------
// The state of a run (delivery_bench_setup.cc).

// What the receivers saw: counts are theirs; this adds the first request
// (headers and body, to give wrk and the libcurl loop the same ones) and
// arrival times by seq for latency runs.
class Recorder {
 public:
  void OnRequest(const Received& r);

  bool captured() const { return captured_.load(); }
  std::pair<std::string, std::string> capture();

  // Starts recording arrivals of seqs [0, n).
  std::atomic<double>* StartArrivals(int64_t n);
  // Stops recording; the caller deletes the array after the receivers went
  // quiet (they are, once every request has arrived).
  void StopArrivals();

 private:
  std::mutex mu_;
  std::atomic<bool> captured_{false};
  std::string head_, body_;
  std::atomic<std::atomic<double>*> arrivals_{nullptr};
  std::atomic<int64_t> arrivals_size_{0};
};

// Everything a run needs.
struct Bench {
  std::filesystem::path dir;
  std::unique_ptr<e2e::TestCertificates> ca;  // for https runs
  Recorder recorder;
  std::map<std::string, std::unique_ptr<HttpReceiver>> receivers;  // scheme
  ObservedStore* store = nullptr;
  GateSender* gate = nullptr;
  server::ApplicationPtr app;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::atomic<int64_t> next_seq{0};
  std::atomic<int64_t> created{0};  // deliveries committed, all runs
  std::map<std::string, std::vector<std::string>> urls;  // site -> targets
  int generation = 0;         // database directories made so far
  std::filesystem::path db;   // the current one

  std::vector<int> receiver_tids() const;
  HttpReceiver* receiver(const std::string& scheme) {
    return receivers.at(scheme).get();
  }
  int64_t received() const;
  std::shared_ptr<grpc::Channel> channel(int i) {
    return channels[static_cast<size_t>(i) % channels.size()];
  }

  // The runs' subscriptions: "plain", "limited" or "ordered" (--controls).
  static inline std::string control = "plain";

  static std::string Site(const std::string& scheme, int64_t k);

  // K subscriptions with distinct URLs at Site(scheme, k), made once.
  absl::Status EnsureSubscriptions(const std::string& scheme, int64_t k);

  // Waits until every delivery committed so far has its outcome on disk.
  bool Settle(double timeout_s);
};

// The product's sender as every run here configures it: --max_in_flight,
// --concurrency per destination, http allowed, loopback reachable, and the
// run's test CA for https.
delivery::CurlSenderOptions SenderOptions(const Bench& bench);

// Starts webhookd in-process over a new RocksDB store in a new directory,
// with a new CurlSender behind a GateSender; drops what the last one knew.
absl::Status StartApp(Bench& bench);
void StopApp(Bench& bench);

// A fresh service (unless --fresh_store=false) with K subscriptions for
// the scheme.
absl::Status Prepare(Bench& bench, const std::string& scheme, int64_t k);

// Publishes events at a site through gRPC.
class Publisher {
 public:
  explicit Publisher(std::shared_ptr<grpc::Channel> channel)
      : stub_(v1::EventService::NewStub(std::move(channel))) {}

  // Publishes `count` events with seqs [first, first + count); returns the
  // deliveries created.
  absl::StatusOr<int64_t> Publish(const std::string& site, int64_t first,
                                  int count);

 private:
  std::unique_ptr<v1::EventService::Stub> stub_;
};

// ---------------------------------------------------------------------------
// Throughput (delivery_bench_throughput.cc).

struct RunFigures {
  double rate = 0;  // receiver-side requests/s in the window
  double other = 0; // a second rate (wrk's own, durable outcomes/s)
  CpuUse cpu;
  std::string note;
};

// A Lua string literal (long brackets) for wrk.
std::string LuaString(std::string_view s);

// "Name: value" lines of a captured request head, without the request
// line, Host and Content-Length.
std::vector<std::pair<std::string, std::string>> HeaderPairs(
    std::string_view head);

// Ceiling A: wrk running `script` against `url`, in a child process.
RunFigures RunWrk(Bench& bench, const std::string& scheme,
                  const std::string& script, const std::string& url);
// Ceiling B: the bare libcurl loop.
RunFigures RunCurlCeiling(Bench& bench, const std::string& scheme,
                          const CurlLoopOptions& options);
// The product's CurlSender alone (ceiling C): the captured request sent
// again and again with up to --max_in_flight outstanding, as the dispatcher
// would keep it fed; no queue, storage or rendering.
RunFigures RunSenderCeiling(Bench& bench, const std::string& scheme,
                            const core::HttpRequest& request);

// Where the dispatcher thread's time went in a window, per delivery.
// `handlers`: the server's rpc-blocking threads (Publish and the other
// storage-bound handlers); `rocksdb`: RocksDB's flushes and compactions.
struct ThreadSnap {
  ThreadTimes fetcher, dispatcher, sender, receiver, handlers, rocksdb;
  ThreadSnap operator-(const ThreadSnap& o) const {
    return {fetcher - o.fetcher,   dispatcher - o.dispatcher,
            sender - o.sender,     receiver - o.receiver,
            handlers - o.handlers, rocksdb - o.rocksdb};
  }
};

ThreadSnap Snap(Bench& bench);

// The lines --profile prints for a window: threads, the dispatcher's time
// in the store and the synced outcome writes, per delivery.
std::string Profile(const ObservedStore::Figures& d, int64_t deliveries,
                    const ThreadSnap& threads, double seconds);

// Events per Publish with K subscriptions each: enough for 100 deliveries,
// and at least one.
int EventsPerPublish(int64_t k);

// Publishers keep about --backlog deliveries committed and not yet
// received; the receiver's count over the window is the rate.
RunFigures RunOurs(Bench& bench, const std::string& scheme, int64_t k,
                   std::string* profile);
// Commits --drain_deliveries with the gate closed, then opens it: the rate
// is deliveries over the time until the last outcome is durable.
RunFigures RunDrain(Bench& bench, const std::string& scheme, int64_t k,
                    std::string* profile);

// ---------------------------------------------------------------------------
// Latency, aging and memory (delivery_bench_latency.cc).

struct LatencyFigures {
  double offered = 0;  // events/s actually published
  int64_t events = 0, missing = 0, early = 0;
  double p50 = 0, p99 = 0, p999 = 0, max = 0;  // ms
  double commit_p50 = 0, commit_p99 = 0;       // ms, the Publish call
  double max_lag = 0;                          // ms behind schedule
  CpuUse cpu;
  std::string profile;
};

// Commit to receipt at `rate` events/s, 1 subscription per event.
LatencyFigures RunLatency(Bench& bench, const std::string& scheme,
                          int64_t rate);

// Latency at --aging_rate on one database as more deliveries have gone
// through it (delivered queue entries leave tombstones behind).
int RunAging(Bench& bench);

// Peak RSS with --pending deliveries pending (and, with --memory_drain,
// while they drain).
int RunMemory(Bench& bench);

}  // namespace webhooks::bench

#endif  // WEBHOOKS_BENCH_DELIVERY_BENCH_H_
