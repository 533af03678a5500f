// The durable index of ordered deliveries (DeliveryControl.ordering): while
// an ordered delivery is pending, kDeliveryOrder holds
// keys::DeliveryOrder(subscription, ordering key, order_seq) -> its id. The
// entry is written in the batch that makes it pending (its commit, a
// redelivery) and removed in the batch that writes its final outcome, so
// the lowest entry of a (subscription, key) — its head — is always the
// earliest delivery of that key still to be sent: the only one the
// dispatcher may send (see OrderGate). DeliveryQueue::StageUpdate calls
// StageDeliveryOrder, so every writer of a delivery keeps the index right.
//
//   ASSIGN_OR_RETURN(std::optional<OrderHead> head,
//                    ReadOrderHead(store, sub_id, order_key));
//   if (head && head->delivery_id != delivery.id()) { it waits }
#ifndef WEBHOOKS_CORE_DELIVERY_ORDER_H_
#define WEBHOOKS_CORE_DELIVERY_ORDER_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "core/payload_filter.h"
#include "storage/sequencer.h"
#include "storage/store.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::core {

using internal::DeliveryRecord;

// The longest ordering key kept; a longer value is cut to this many bytes
// (keys that share their first bytes then share one order).
inline constexpr size_t kMaxOrderKeyBytes = 200;

// Adds to `batch` the index changes that replace `before` (null: a new
// delivery) by `after`: an entry for a pending ordered delivery that had
// none, and its removal once it is no longer pending.
void StageDeliveryOrder(const DeliveryRecord* before,
                        const DeliveryRecord& after,
                        storage::WriteBatch& batch);

// StageDeliveryOrder for a `before` that was pending with after's number.
void StageDeliveryOrderAfterPending(const DeliveryRecord& after,
                                    storage::WriteBatch& batch);

// The head of one subscription's ordering key.
struct OrderHead {
  uint64_t seq = 0;
  std::string delivery_id;
};
// The head, or nullopt when the key has nothing pending.
absl::StatusOr<std::optional<OrderHead>> ReadOrderHead(
    const storage::Store& store, std::string_view subscription_id,
    std::string_view order_key);

// The ordering key of a delivery of `event` in `representation`: the
// value at `key_path` of its JSON body (JsonPayload::ValueAt), cut to
// kMaxOrderKeyBytes; empty when the path is empty or names nothing.
// `scratch` is reused between calls.
std::string OrderKeyOf(const internal::EventRecord& event,
                       std::string_view representation,
                       std::string_view key_path, JsonPayload& scratch);

// Numbers each of `ordered` (order_seq; in the order given, each
// subscription's from its next number) and writes `batch` with what
// `stage` adds once they are numbered. ABORTED when another process
// numbered deliveries of one of these subscriptions meanwhile (retry).
absl::Status WriteOrdered(storage::Sequencer& sequencer,
                          storage::WriteBatch& batch,
                          std::span<DeliveryRecord* const> ordered,
                          absl::FunctionRef<void(storage::WriteBatch&)> stage);

// The in-memory name of a delivery's order: subscription and key.
std::string OrderLaneOf(const DeliveryRecord& delivery);

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_DELIVERY_ORDER_H_
