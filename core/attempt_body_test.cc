#include "core/attempt_body.h"

#include <string>
#include <vector>

#include "core/delivery_events.h"
#include "core/dialect_catalog.h"
#include "gtest/gtest.h"
#include "storage/memory_store.h"

namespace webhooks::core {
namespace {

using internal::AttemptRecord;
using internal::DeliveryRecord;
using internal::EventRecord;

EventRecord Event(std::string body) {
  EventRecord event;
  event.set_id("e1");
  event.add_resource_types("user");
  event.add_event_types("added");
  event.set_occur_time_micros(1'700'000'000'000'000);
  (*event.mutable_representations())["webhook-delivery"].set_body(
      std::move(body));
  return event;
}

DeliveryRecord Delivery(std::string transaction) {
  DeliveryRecord delivery;
  delivery.set_transaction_owner("pub");
  delivery.set_transaction_id(std::move(transaction));
  delivery.set_event_id("e1");
  delivery.set_representation("webhook-delivery");
  return delivery;
}

AttemptRecord Referring(const DeliveryRecord& delivery, int envelope,
                        size_t max_bytes) {
  AttemptRecord attempt;
  attempt.set_request_body("stale");
  ReferToRequestBody(delivery, DeliveryEvents::KeyOf(delivery), envelope,
                     max_bytes, attempt);
  return attempt;
}

TEST(AttemptBodyTest, KeyForIsKeyOfWhicheverFieldChanges) {
  storage::MemoryStore store;
  DeliveryEvents events(&store);
  DeliveryRecord a = Delivery("tx");
  DeliveryRecord other_owner = a;
  other_owner.set_transaction_owner("pub2");
  DeliveryRecord other_transaction = Delivery("tx2");
  DeliveryRecord other_event = a;
  other_event.set_event_id("e2");
  for (const DeliveryRecord* d :
       {&a, &a, &other_owner, &a, &other_transaction, &other_event, &a}) {
    EXPECT_EQ(events.KeyFor(*d), DeliveryEvents::KeyOf(*d));
  }
  EXPECT_NE(DeliveryEvents::KeyOf(a), DeliveryEvents::KeyOf(other_owner));
  EXPECT_NE(DeliveryEvents::KeyOf(a), DeliveryEvents::KeyOf(other_event));
}

TEST(AttemptBodyTest, ReferenceReplacesTheBody) {
  const AttemptRecord attempt =
      Referring(Delivery("tx"), kEnvelopeRaw, 64 << 10);
  EXPECT_EQ(attempt.request_body(), "");
  EXPECT_EQ(attempt.request_body_reference().event_key(),
            DeliveryEvents::KeyOf(Delivery("tx")));
  EXPECT_EQ(attempt.request_body_reference().representation(),
            "webhook-delivery");
}

TEST(AttemptBodyTest, FillsTheBodyAsSentCutAtItsCap) {
  const EventRecord event = Event("{\"n\":1}");
  AttemptRecord raw = Referring(Delivery("tx"), kEnvelopeRaw, 64 << 10);
  FillRequestBody(&event, raw);
  EXPECT_EQ(raw.request_body(), "{\"n\":1}");
  EXPECT_FALSE(raw.request_body_forgotten());

  AttemptRecord cut = Referring(Delivery("tx"), kEnvelopeRaw, 4);
  FillRequestBody(&event, cut);
  EXPECT_EQ(cut.request_body(), "{\"n\"");

  AttemptRecord wrapped =
      Referring(Delivery("tx"), kEnvelopeStandardJson, 64 << 10);
  FillRequestBody(&event, wrapped);
  EXPECT_EQ(wrapped.request_body(),
            "{\"type\":\"user.added\",\"timestamp\":"
            "\"2023-11-14T22:13:20.000000Z\",\"data\":{\"n\":1}}");
}

TEST(AttemptBodyTest, MissingEventOrRepresentationIsForgotten) {
  AttemptRecord gone = Referring(Delivery("tx"), kEnvelopeRaw, 64 << 10);
  FillRequestBody(nullptr, gone);
  EXPECT_EQ(gone.request_body(), "");
  EXPECT_TRUE(gone.request_body_forgotten());

  DeliveryRecord other = Delivery("tx");
  other.set_representation("full");
  AttemptRecord missing = Referring(other, kEnvelopeRaw, 64 << 10);
  const EventRecord event = Event("{}");
  FillRequestBody(&event, missing);
  EXPECT_TRUE(missing.request_body_forgotten());
}

TEST(AttemptBodyTest, RecordsWithTheirOwnBodyAreLeftAlone) {
  AttemptRecord old;
  old.set_request_body("as stored");
  FillRequestBody(nullptr, old);
  EXPECT_EQ(old.request_body(), "as stored");
  EXPECT_FALSE(old.request_body_forgotten());
}

TEST(AttemptBodyTest, FillsEveryReferenceFromTheStore) {
  storage::MemoryStore store;
  storage::WriteBatch batch;
  batch.Put(storage::Column::kTransactionEvents,
            DeliveryEvents::KeyOf(Delivery("tx1")),
            Event("{\"a\":1}").SerializeAsString());
  batch.Put(storage::Column::kTransactionEvents,
            DeliveryEvents::KeyOf(Delivery("corrupt")), "\xff\xff\xff");
  ASSERT_TRUE(store.Write(batch).ok());
  std::vector<AttemptRecord> attempts = {
      Referring(Delivery("tx1"), kEnvelopeRaw, 64 << 10),
      Referring(Delivery("tx2"), kEnvelopeRaw, 64 << 10),
      Referring(Delivery("tx1"), kEnvelopeRaw, 3),
      Referring(Delivery("corrupt"), kEnvelopeRaw, 64 << 10)};
  ASSERT_TRUE(FillRequestBodies(store, attempts).ok());
  EXPECT_EQ(attempts[0].request_body(), "{\"a\":1}");
  EXPECT_TRUE(attempts[1].request_body_forgotten());
  EXPECT_EQ(attempts[2].request_body(), "{\"a");
  EXPECT_TRUE(attempts[3].request_body_forgotten());
}

}  // namespace
}  // namespace webhooks::core
