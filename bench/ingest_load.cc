#include "bench/ingest_load.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <utility>

#include "common/strings.h"
#include "webhooks/v1/event.grpc.pb.h"

namespace webhooks::bench {
namespace {

// Distinct events each thread cycles through (so sites vary), at least one
// transaction's worth.
constexpr int kEventsPerThread = 1024;

// The principal the domain load's transactions belong to, as a publisher's
// would through the service.
constexpr char kOwner[] = "bench";

void SleepFor(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

int RingSize(int events_per_tx) {
  return std::max(1, kEventsPerThread / std::max(1, events_per_tx));
}

v1::Event ToApi(const EventSpec& spec) {
  v1::Event e;
  e.set_id(spec.id);
  e.set_site(spec.site);
  for (const std::string& t : spec.resource_types) e.add_resource_types(t);
  for (const std::string& t : spec.event_types) e.add_event_types(t);
  v1::Representation& body =
      (*e.mutable_representations())[kDeliveryRepresentation];
  body.set_body(spec.body);
  body.set_content_type("application/json");
  for (const AclSpec& a : spec.acl) {
    v1::AclEntry* entry = e.add_acl();
    entry->set_action(a.allow ? v1::AclEntry::ALLOW : v1::AclEntry::DENY);
    entry->set_principal(a.principal);
    entry->set_permission(a.permission);
  }
  return e;
}

struct ThreadTotals {
  int64_t transactions = 0, events = 0, deliveries = 0, errors = 0;
  std::string first_error;
  std::vector<double> prepare_us, commit_us;
};

}  // namespace

LoadResult DriveLoad(const LoadOptions& options, const WorkerFactory& factory) {
  const int n = std::max(1, options.clients);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false}, measuring{false}, stop{false};
  std::vector<ThreadTotals> totals(static_cast<size_t>(n));
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      TxFn tx = factory(t);
      ThreadTotals& mine = totals[static_cast<size_t>(t)];
      ready.fetch_add(1);
      while (!go.load()) std::this_thread::yield();
      for (int64_t seq = 0; !stop.load(std::memory_order_relaxed); ++seq) {
        TxOutcome r = tx(seq);
        if (!r.ok) {
          if (mine.errors++ == 0) mine.first_error = std::move(r.error);
          SleepFor(0.001);
          continue;
        }
        if (!measuring.load(std::memory_order_relaxed) ||
            stop.load(std::memory_order_relaxed)) {
          continue;
        }
        ++mine.transactions;
        mine.events += r.events;
        mine.deliveries += r.deliveries;
        mine.prepare_us.push_back(r.prepare_s * 1e6);
        mine.commit_us.push_back(r.commit_s * 1e6);
      }
    });
  }
  while (ready.load() < n) SleepFor(0.01);
  go.store(true);
  SleepFor(options.warmup_s);
  if (options.on_window_start) options.on_window_start();
  CpuSampler cpu;
  const double start = Now();
  measuring.store(true);
  SleepFor(options.duration_s);
  stop.store(true);
  LoadResult result;
  result.seconds = Now() - start;
  result.cpu = cpu.Stop();
  if (options.on_window_end) options.on_window_end();
  for (std::thread& t : threads) t.join();
  for (ThreadTotals& t : totals) {
    result.transactions += t.transactions;
    result.events += t.events;
    result.deliveries += t.deliveries;
    result.errors += t.errors;
    if (result.first_error.empty()) result.first_error = t.first_error;
    result.prepare_us.insert(result.prepare_us.end(), t.prepare_us.begin(),
                             t.prepare_us.end());
    result.commit_us.insert(result.commit_us.end(), t.commit_us.begin(),
                            t.commit_us.end());
  }
  return result;
}

LoadResult RunGrpcLoad(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    const Workload& workload, const LoadOptions& options) {
  const int k = options.events_per_tx;
  return DriveLoad(options, [&](int thread) -> TxFn {
    auto stub = v1::EventService::NewStub(
        channels[static_cast<size_t>(thread) % channels.size()]);
    std::mt19937_64 rng(options.seed * 1000003 + static_cast<uint64_t>(thread));
    // Prebuilt requests: per transaction only the id changes.
    auto ring = std::make_shared<std::vector<v1::PrepareRequest>>(
        static_cast<size_t>(RingSize(k)));
    for (v1::PrepareRequest& request : *ring) {
      for (int j = 0; j < k; ++j) {
        *request.add_events() =
            ToApi(workload.RandomEvent(rng, StrCat("evt-", j)));
      }
    }
    const std::string prefix = StrCat(options.tag, "-", thread, "-");
    return [stub = std::shared_ptr<v1::EventService::Stub>(std::move(stub)),
            ring, prefix, k](int64_t seq) {
      TxOutcome out;
      v1::PrepareRequest& prepare =
          (*ring)[static_cast<size_t>(seq) % ring->size()];
      prepare.set_transaction_id(StrCat(prefix, seq));
      v1::PrepareResponse prepared;
      grpc::ClientContext prepare_ctx;
      const double t0 = Now();
      grpc::Status s = stub->Prepare(&prepare_ctx, prepare, &prepared);
      const double t1 = Now();
      if (!s.ok()) {
        out.error = StrCat("Prepare: ", s.error_message());
        return out;
      }
      v1::CommitRequest commit;
      commit.set_transaction_id(prepare.transaction_id());
      v1::CommitResponse committed;
      grpc::ClientContext commit_ctx;
      s = stub->Commit(&commit_ctx, commit, &committed);
      const double t2 = Now();
      if (!s.ok()) {
        out.error = StrCat("Commit: ", s.error_message());
        return out;
      }
      out.ok = true;
      out.events = k;
      out.deliveries = committed.deliveries_created();
      out.prepare_s = t1 - t0;
      out.commit_s = t2 - t1;
      return out;
    };
  });
}

LoadResult RunDomainLoad(core::TransactionLog* log, const Workload& workload,
                         const LoadOptions& options) {
  const int k = options.events_per_tx;
  return DriveLoad(options, [&](int thread) -> TxFn {
    std::mt19937_64 rng(options.seed * 1000003 + static_cast<uint64_t>(thread));
    auto ring = std::make_shared<std::vector<std::vector<core::EventRecord>>>(
        static_cast<size_t>(RingSize(k)));
    for (std::vector<core::EventRecord>& events : *ring) {
      for (int j = 0; j < k; ++j) {
        events.push_back(Workload::ToRecord(
            workload.RandomEvent(rng, StrCat("evt-", j)), 0));
      }
    }
    const std::string prefix = StrCat(options.tag, "-", thread, "-");
    return [log, ring, prefix, k](int64_t seq) {
      TxOutcome out;
      const std::string id = StrCat(prefix, seq);
      const double t0 = Now();
      auto prepared = log->Prepare(
          kOwner, id, (*ring)[static_cast<size_t>(seq) % ring->size()],
          std::nullopt);
      const double t1 = Now();
      if (!prepared.ok()) {
        out.error = StrCat("Prepare: ", prepared.status().ToString());
        return out;
      }
      auto committed = log->Commit(kOwner, id);
      const double t2 = Now();
      if (!committed.ok()) {
        out.error = StrCat("Commit: ", committed.status().ToString());
        return out;
      }
      out.ok = true;
      out.events = k;
      out.deliveries = committed->deliveries_created;
      out.prepare_s = t1 - t0;
      out.commit_s = t2 - t1;
      return out;
    };
  });
}

}  // namespace webhooks::bench
