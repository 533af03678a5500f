// Creates a Workload's subscriptions (and their owners' groups) through the
// domain (core::SubscriptionRegistry::Create), as the API would. Used by
// ingest_bench and cluster_bench over a SetupStore with syncing off.
//
//   RETURN_IF_ERROR(Populate(store, workload, &clock, &random));
#ifndef WEBHOOKS_BENCH_POPULATE_H_
#define WEBHOOKS_BENCH_POPULATE_H_

#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "bench/workload.h"
#include "common/clock.h"
#include "common/random.h"
#include "storage/store.h"

namespace webhooks::bench {

// `target_url`, when set, replaces subscription i's URL.
absl::Status Populate(
    storage::Store* store, const Workload& workload, const Clock* clock,
    RandomSource* random,
    const std::function<std::string(size_t)>& target_url = nullptr);

}  // namespace webhooks::bench

#endif  // WEBHOOKS_BENCH_POPULATE_H_
