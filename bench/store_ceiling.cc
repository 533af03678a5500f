// RunStoreCeiling: the storage writes of Prepare + Commit, nothing else.
//
// Per transaction, as core::TransactionLog writes them:
//   Prepare batch: K x Put(kTransactionEvents, (tx, event id), EventRecord)
//                  + Put(kTransactions, tx, record)
//                  + Put(kTransactionDeadlines, (expiry, tx), "")
//   Commit batch:  D x Put(kDeliveryQueue, (due, id), DeliveryRecord)
//                  (a new delivery lives in the queue only, see DeliveryQueue)
//                  + Delete/Put of the deadline + Put(kTransactions, ...)
// each written with sync (WAL on stable storage), with the same key and
// value sizes (events normalized as the service stores them). No reads, no
// matching, no validation, no gRPC.
#include <algorithm>
#include <memory>
#include <random>

#include "bench/ingest_load.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/strings.h"
#include "core/delivery_queue.h"
#include "core/event_validation.h"
#include "storage/key_codec.h"

namespace webhooks::bench {
namespace {

using internal::DeliveryRecord;
using internal::TransactionRecord;
using storage::Column;

constexpr int kEventsPerThread = 1024;

struct CeilingThread {
  std::vector<std::vector<std::pair<std::string, std::string>>> ring;  // id, value
  DeliveryRecord delivery;  // template
  SeededRandom random{0};
  double carry = 0;
};

std::string DeadlineKey(const TransactionRecord& t) {
  return storage::keys::TransactionDeadline(
      static_cast<uint64_t>(t.deadline_micros()), t.id());
}

}  // namespace

LoadResult RunStoreCeiling(storage::Store* store, const Workload& workload,
                           double deliveries_per_event,
                           const LoadOptions& options) {
  const int k = options.events_per_tx;
  return DriveLoad(options, [&](int thread) -> TxFn {
    auto state = std::make_shared<CeilingThread>();
    std::mt19937_64 rng(options.seed * 1000003 + static_cast<uint64_t>(thread));
    SystemClock clock;
    const core::Limits limits{};
    state->ring.resize(static_cast<size_t>(std::max(1, kEventsPerThread / k)));
    for (auto& events : state->ring) {
      for (int j = 0; j < k; ++j) {
        core::EventRecord record = Workload::ToRecord(
            workload.RandomEvent(rng, StrCat("evt-", j)), 0);
        (void)core::NormalizeEvent("event", record, limits, clock,
                                   state->random);
        record.set_seq(static_cast<uint64_t>(j));
        record.set_matched_at_prepare(
            static_cast<int64_t>(deliveries_per_event + 0.5));
        events.emplace_back(record.id(), record.SerializeAsString());
      }
    }
    DeliveryRecord& d = state->delivery;
    d.set_subscription_id(NewId("sub_", 1700000000000, state->random));
    d.set_state(DeliveryRecord::PENDING);
    d.set_representation(kDeliveryRepresentation);
    d.set_target_url("https://hooks.c1234.example.com/webhooks/56789");
    d.set_dialect("default");
    const std::string prefix = StrCat(options.tag, "-", thread, "-");
    return [store, state, prefix, k, deliveries_per_event](int64_t seq) {
      TxOutcome out;
      CeilingThread& s = *state;
      const auto& events = s.ring[static_cast<size_t>(seq) % s.ring.size()];
      const std::string id = StrCat(prefix, seq);
      const int64_t now = absl::ToUnixMicros(absl::Now());
      TransactionRecord tx;
      tx.set_id(id);
      tx.set_state(TransactionRecord::PREPARED);
      tx.set_event_count(k);
      tx.set_create_time_micros(now);
      tx.set_expire_time_micros(now + 600000000);
      tx.set_deadline_micros(tx.expire_time_micros());

      storage::WriteBatch prepare;
      for (const auto& [event_id, value] : events) {
        prepare.Put(Column::kTransactionEvents,
                    storage::keys::TransactionEvent(id, event_id), value);
      }
      prepare.Put(Column::kTransactions, id, tx.SerializeAsString());
      prepare.Put(Column::kTransactionDeadlines, DeadlineKey(tx), "");
      const double t0 = Now();
      absl::Status status = store->Write(prepare);
      const double t1 = Now();
      if (!status.ok()) {
        out.error = status.ToString();
        return out;
      }

      s.carry += deliveries_per_event * k;
      const auto deliveries = static_cast<int64_t>(s.carry);
      s.carry -= static_cast<double>(deliveries);
      storage::WriteBatch commit;
      for (int64_t i = 0; i < deliveries; ++i) {
        s.delivery.set_id(
            NewId(core::DeliveryQueue::kIdPrefix, now / 1000, s.random));
        s.delivery.set_transaction_id(id);
        s.delivery.set_event_id(events[static_cast<size_t>(i) % events.size()].first);
        s.delivery.set_next_attempt_micros(
            *core::DeliveryQueue::InitialDueMicros(s.delivery.id()));
        s.delivery.set_create_time_micros(now);
        // Staged by the queue itself, as Commit stages it: one queue entry
        // holding the record.
        core::DeliveryQueue::StageUpdate(nullptr, s.delivery, commit);
      }
      commit.Delete(Column::kTransactionDeadlines, DeadlineKey(tx));
      tx.set_state(TransactionRecord::COMMITTED);
      tx.set_delivery_count(deliveries);
      tx.set_resolve_time_micros(now);
      tx.set_deadline_micros(now + 7 * 86400000000LL);
      commit.Put(Column::kTransactions, id, tx.SerializeAsString());
      commit.Put(Column::kTransactionDeadlines, DeadlineKey(tx), "");
      status = store->Write(commit);
      const double t2 = Now();
      if (!status.ok()) {
        out.error = status.ToString();
        return out;
      }
      out.ok = true;
      out.events = k;
      out.deliveries = deliveries;
      out.prepare_s = t1 - t0;
      out.commit_s = t2 - t1;
      return out;
    };
  });
}

}  // namespace webhooks::bench
