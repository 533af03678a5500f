#include "core/delivery_order.h"

#include <algorithm>
#include <vector>

#include "common/strings.h"
#include "storage/key_codec.h"

namespace webhooks::core {
namespace {

bool Pending(const DeliveryRecord* d) {
  return d != nullptr && d->state() == DeliveryRecord::PENDING;
}

std::string EntryKey(const DeliveryRecord& d) {
  return storage::keys::DeliveryOrder(d.subscription_id(), d.order_key(),
                                      d.order_seq());
}

}  // namespace

void StageDeliveryOrder(const DeliveryRecord* before,
                        const DeliveryRecord& after,
                        storage::WriteBatch& batch) {
  const bool had = Pending(before) && before->order_seq() != 0;
  const bool has = Pending(&after) && after.order_seq() != 0;
  if (had && (!has || before->order_seq() != after.order_seq())) {
    batch.Delete(storage::Column::kDeliveryOrder, EntryKey(*before));
  }
  if (has && (!had || before->order_seq() != after.order_seq())) {
    batch.Put(storage::Column::kDeliveryOrder, EntryKey(after), after.id());
  }
}

void StageDeliveryOrderAfterPending(const DeliveryRecord& after,
                                    storage::WriteBatch& batch) {
  if (after.order_seq() != 0 && !Pending(&after)) {
    batch.Delete(storage::Column::kDeliveryOrder, EntryKey(after));
  }
}

absl::StatusOr<std::optional<OrderHead>> ReadOrderHead(
    const storage::Store& store, std::string_view subscription_id,
    std::string_view order_key) {
  std::optional<OrderHead> head;
  bool corrupt = false;
  // One key, read in one round trip on a store across a network.
  std::string prefix =
      storage::keys::DeliveryOrderPrefix(subscription_id, order_key);
  const storage::ScanRange range[] = {
      {prefix, storage::PrefixSuccessor(prefix), 1}};
  absl::Status scanned = store.ScanRanges(
      storage::Column::kDeliveryOrder, range,
      [&](size_t, std::string_view key, std::string_view value) {
        const std::optional<uint64_t> seq =
            storage::keys::ParseDeliveryOrderSeq(key);
        if (!seq.has_value()) {
          corrupt = true;
          return false;
        }
        head = OrderHead{*seq, std::string(value)};
        return false;  // the first is the head
      });
  if (!scanned.ok()) return scanned;
  if (corrupt) {
    return absl::DataLossError(StrCat("an ordering entry of subscription \"",
                                      subscription_id, "\" is corrupt"));
  }
  return head;
}

std::string OrderKeyOf(const internal::EventRecord& event,
                       std::string_view representation,
                       std::string_view key_path, JsonPayload& scratch) {
  if (key_path.empty()) return std::string();
  auto it = event.representations().find(std::string(representation));
  if (it == event.representations().end()) return std::string();
  if (!scratch.Parse(it->second.body()).ok()) return std::string();
  std::string key = scratch.ValueAt(key_path).value_or("");
  if (key.size() > kMaxOrderKeyBytes) key.resize(kMaxOrderKeyBytes);
  return key;
}

absl::Status WriteOrdered(storage::Sequencer& sequencer,
                          storage::WriteBatch& batch,
                          std::span<DeliveryRecord* const> ordered,
                          absl::FunctionRef<void(storage::WriteBatch&)> stage) {
  std::vector<storage::SequenceNeed> needs;
  std::vector<size_t> need_of(ordered.size());
  for (size_t i = 0; i < ordered.size(); ++i) {
    const std::string counter = StrCat("order/", ordered[i]->subscription_id());
    auto it = std::find_if(needs.begin(), needs.end(), [&](const auto& n) {
      return n.counter == counter;
    });
    if (it == needs.end()) it = needs.insert(needs.end(), {counter, 0});
    ++it->count;
    need_of[i] = static_cast<size_t>(it - needs.begin());
  }
  return sequencer.Write(
      batch, needs,
      [&](std::span<const uint64_t> first, storage::WriteBatch& b) {
        std::vector<uint64_t> next(first.begin(), first.end());
        for (size_t i = 0; i < ordered.size(); ++i) {
          ordered[i]->set_order_seq(next[need_of[i]]++);
        }
        stage(b);
      });
}

std::string OrderLaneOf(const DeliveryRecord& delivery) {
  return StrCat(delivery.subscription_id(), std::string_view("\0", 1),
                delivery.order_key());
}

}  // namespace webhooks::core
