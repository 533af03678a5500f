// The fixture of the TransactionLog tests: a log on a MemoryStore with a
// registry, a matcher and a queue (registry_fixture.h).
#ifndef WEBHOOKS_CORE_TRANSACTION_LOG_FIXTURE_H_
#define WEBHOOKS_CORE_TRANSACTION_LOG_FIXTURE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/delivery_queue.h"
#include "core/event_matcher.h"
#include "core/registry_fixture.h"
#include "core/transaction_log.h"
#include "gtest/gtest.h"
#include "storage/key_codec.h"
#include "storage/sequencer.h"

namespace webhooks::core {

// The principal the tests' transactions belong to, unless they say.
inline constexpr char kApp[] = "app";

class TransactionLogTest : public RegistryFixture {
 protected:
  void SetUp() override {
    RegistryFixture::SetUp();
    matcher_ = std::make_unique<EventMatcher>(&registry_->index(),
                                              directory_.get());
    log_ = std::make_unique<TransactionLog>(&store_, &queue_, matcher_.get(),
                                            catalog_.get(), &clock_, &random_,
                                            options_.limits, tx_options_);
  }

  static EventRecord Event(std::string id, std::string site = "/NOAA/NWS/OUN",
                           std::string resource_type = "user") {
    EventRecord e;
    e.set_id(std::move(id));
    e.set_site(std::move(site));
    e.add_resource_types(std::move(resource_type));
    e.add_event_types("added");
    (*e.mutable_representations())["webhook-delivery"].set_body("{\"id\":1}");
    return e;
  }

  std::vector<internal::DeliveryRecord> Pending() {
    absl::StatusOr<std::vector<internal::DeliveryRecord>> due =
        queue_.Due(clock_.Now() + absl::Hours(1000), 100000);
    EXPECT_TRUE(due.ok()) << due.status();
    return due.ok() ? *due : std::vector<internal::DeliveryRecord>{};
  }

  // Turns ordering on for the log and creates `draft` ordered, by the
  // payload's value at `key_path` ("" : the whole subscription one lane).
  SubscriptionRecord MustCreateOrdered(SubscriptionRecord draft,
                                       std::string key_path = "") {
    log_->EnableOrdering(&registry_->ordering(), &sequencer_);
    draft.mutable_delivery()->set_ordered(true);
    draft.mutable_delivery()->set_order_key_path(std::move(key_path));
    return MustCreate(draft);
  }

  TransactionOptions tx_options_;
  std::unique_ptr<EventMatcher> matcher_;
  std::unique_ptr<TransactionLog> log_;
  DeliveryQueue queue_{&store_};
  storage::Sequencer sequencer_{&store_};

  // The value at `key` of kDeliveryOrder ("<absent>" when none).
  std::string OrderEntry(const std::string& key) {
    absl::StatusOr<std::optional<std::string>> v =
        store_.Get(storage::Column::kDeliveryOrder, key);
    return v.ok() && v->has_value() ? **v : "<absent>";
  }
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_TRANSACTION_LOG_FIXTURE_H_
