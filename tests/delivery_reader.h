// Reads what a stopped server left in its data directory, through the same
// storage and queue classes the server uses: the test's view of deliveries
// until DeliveryService can list them.
//
//   ASSERT_OK(server->Terminate().status());
//   ASSERT_OK_AND_ASSIGN(auto pending,
//   ReadPendingDeliveries(server->data_dir()));
//   EXPECT_THAT(EventSubscriptionPairs(pending),
//   UnorderedElementsAreArray(want));
#ifndef WEBHOOKS_TESTS_DELIVERY_READER_H_
#define WEBHOOKS_TESTS_DELIVERY_READER_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::e2e {

// (event id, subscription id) of one delivery.
using EventSubscription = std::pair<std::string, std::string>;

// Every pending delivery in the RocksDB database at `data_dir`, earliest
// first. The server must not be running (the database is opened
// exclusively). Fails when the queue's depth disagrees with what it lists.
absl::StatusOr<std::vector<internal::DeliveryRecord>> ReadPendingDeliveries(
    const std::string& data_dir);

// The (event id, subscription id) of each delivery, in the same order.
std::vector<EventSubscription> EventSubscriptionPairs(
    const std::vector<internal::DeliveryRecord>& deliveries);

}  // namespace webhooks::e2e

#endif  // WEBHOOKS_TESTS_DELIVERY_READER_H_
