#include "core/attempt_headers.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "core/attempt_body.h"
#include "core/dialect_catalog.h"
#include "core/request_renderer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/memory_store.h"

namespace webhooks::core {
namespace {

using internal::AttemptRecord;
using ::testing::ElementsAre;
using ::testing::Pair;

constexpr char kSecret[] = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

using Headers = std::vector<std::pair<std::string, std::string>>;

Headers HeadersOf(const AttemptRecord& attempt) {
  Headers out;
  for (const auto& h : attempt.request_headers()) {
    out.emplace_back(h.name(), h.value());
  }
  return out;
}

std::shared_ptr<const internal::EventRecord> Event(std::string content_type) {
  auto made = std::make_shared<internal::EventRecord>();
  internal::EventRecord& event = *made;
  event.set_id("evt_1");
  event.add_resource_types("employee");
  event.add_event_types("added");
  internal::RepresentationRecord& body =
      (*event.mutable_representations())["full"];
  body.set_body(R"({"id":"emp-1"})");
  body.set_content_type(std::move(content_type));
  return made;
}

internal::DeliveryRecord Delivery() {
  internal::DeliveryRecord delivery;
  delivery.set_id("dlv_01hx");
  delivery.set_target_url("https://hooks.example.com/in");
  delivery.set_representation("full");
  return delivery;
}

// The attempt the dispatcher stores for `request`, rendered at `now`, as it
// reads back from the store.
AttemptRecord Stored(const internal::DeliveryRecord& delivery,
                     const internal::RequestHeadersReference& reference,
                     absl::Time now) {
  AttemptRecord attempt;
  attempt.set_delivery_id(delivery.id());
  attempt.set_create_time_micros(absl::ToUnixMicros(now));
  *attempt.mutable_request_headers_reference() = reference;
  AttemptRecord read;
  EXPECT_TRUE(read.ParseFromString(attempt.SerializeAsString()));
  return read;
}

// Whatever the dialect, the headers read back are the ones sent, in order,
// with the signature redacted.
TEST(AttemptHeadersTest, ReadBackAsSentForEveryDialectShape) {
  const WebhookSigner signer({kSecret});
  // Not on a whole second: the timestamp header is the create time's second.
  const absl::Time now = absl::FromUnixMicros(1'700'000'100'987'654);
  for (int envelope : {kEnvelopeRaw, kEnvelopeStandardJson}) {
    for (int signing : {kSigningStandardWebhooks, kSigningNone}) {
      for (bool extra : {false, true}) {
        for (const char* representation_type : {"", "application/xml"}) {
          SCOPED_TRACE(testing::Message()
                       << "envelope " << envelope << " signing " << signing
                       << " extra " << extra << " type " << representation_type);
          internal::DialectRecord dialect;
          dialect.set_content_type("application/json");
          dialect.set_user_agent("webhookd/1");
          dialect.set_signing(signing);
          dialect.set_envelope(envelope);
          if (extra) {
            (*dialect.mutable_headers())["X-Tenant"] = "acme";
            (*dialect.mutable_headers())["X-Env"] = "prod";
          }
          internal::RequestHeadersReference reference;
          absl::StatusOr<HttpRequest> request =
              RenderRequest(Delivery(), Event(representation_type), dialect,
                            signer, now, &reference);
          ASSERT_TRUE(request.ok()) << request.status();
          Headers expected = request->headers;
          for (auto& [name, value] : expected) {
            if (name == "webhook-signature") value = std::string(kRedacted);
          }
          AttemptRecord attempt = Stored(Delivery(), reference, now);
          FillRequestHeaders(attempt);
          EXPECT_EQ(HeadersOf(attempt), expected);
          EXPECT_FALSE(attempt.has_request_headers_reference());
        }
      }
    }
  }
}

// The stored form is fixed: a record written today reads back the same
// headers whatever later versions render (a change to AppendRequestHeaders'
// order or names breaks this test, not stored records silently).
TEST(AttemptHeadersTest, StoredReferenceReadsBackTheSameHeaders) {
  AttemptRecord attempt;
  attempt.set_delivery_id("dlv_7");
  attempt.set_create_time_micros(1'700'000'000'999'999);
  internal::RequestHeadersReference& reference =
      *attempt.mutable_request_headers_reference();
  reference.set_content_type("application/cloudevents+json");
  reference.set_user_agent("acme-hooks/3");
  internal::HeaderRecord& tenant = *reference.add_dialect_headers();
  tenant.set_name("X-Tenant");
  tenant.set_value("acme");
  reference.set_signature_sent(true);
  FillRequestHeaders(attempt);
  EXPECT_THAT(HeadersOf(attempt),
              ElementsAre(Pair("Content-Type", "application/cloudevents+json"),
                          Pair("User-Agent", "acme-hooks/3"),
                          Pair("X-Tenant", "acme"), Pair("webhook-id", "dlv_7"),
                          Pair("webhook-timestamp", "1700000000"),
                          Pair("webhook-signature", "[redacted]")));

  AttemptRecord unsigned_attempt;
  unsigned_attempt.set_delivery_id("dlv_8");
  unsigned_attempt.set_create_time_micros(1'700'000'001'000'000);
  unsigned_attempt.mutable_request_headers_reference()->set_content_type("text/plain");
  FillRequestHeaders(unsigned_attempt);
  EXPECT_THAT(HeadersOf(unsigned_attempt),
              ElementsAre(Pair("Content-Type", "text/plain"), Pair("User-Agent", ""),
                          Pair("webhook-id", "dlv_8"),
                          Pair("webhook-timestamp", "1700000001")));
}

// Records written before the reference existed keep their headers as stored;
// filling twice changes nothing.
TEST(AttemptHeadersTest, OldRecordsAndFilledRecordsAreLeftAlone) {
  AttemptRecord old;
  old.set_delivery_id("dlv_1");
  old.set_create_time_micros(1'700'000'000'000'000);
  internal::HeaderRecord& h = *old.add_request_headers();
  h.set_name("User-Agent");
  h.set_value("webhookd/0");
  const std::string before = old.SerializeAsString();
  FillRequestHeaders(old);
  EXPECT_EQ(old.SerializeAsString(), before);

  AttemptRecord attempt;
  attempt.set_delivery_id("dlv_2");
  attempt.mutable_request_headers_reference()->set_signature_sent(true);
  FillRequestHeaders(attempt);
  const Headers once = HeadersOf(attempt);
  EXPECT_EQ(once.size(), 5u);
  FillRequestHeaders(attempt);
  EXPECT_EQ(HeadersOf(attempt), once);
}

// Every path that reads attempts goes through FillRequestBody(ies), which
// rebuild the headers too, also for attempts with no body reference.
TEST(AttemptHeadersTest, FillingBodiesFillsHeaders) {
  storage::MemoryStore store;
  std::vector<AttemptRecord> attempts(2);
  for (AttemptRecord& attempt : attempts) {
    attempt.set_delivery_id("dlv_3");
    attempt.mutable_request_headers_reference()->set_user_agent("webhookd/1");
  }
  ASSERT_TRUE(FillRequestBodies(store, attempts).ok());
  EXPECT_EQ(HeadersOf(attempts[0]).size(), 4u);
  EXPECT_EQ(HeadersOf(attempts[1]), HeadersOf(attempts[0]));
  AttemptRecord single = attempts[0];
  single.clear_request_headers();
  single.mutable_request_headers_reference()->set_user_agent("webhookd/1");
  FillRequestBody(nullptr, single);
  EXPECT_EQ(HeadersOf(single), HeadersOf(attempts[0]));
}

// The point of the reference: the standard headers take a fraction of the
// bytes the header list took.
TEST(AttemptHeadersTest, StoredReferenceIsSmallerThanTheHeaders) {
  internal::DialectRecord dialect;
  dialect.set_content_type("application/json");
  dialect.set_user_agent("webhookd/1");
  dialect.set_signing(kSigningStandardWebhooks);
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  internal::RequestHeadersReference reference;
  ASSERT_TRUE(RenderRequest(Delivery(), Event(""), dialect,
                            WebhookSigner({kSecret}), now, &reference)
                  .ok());
  AttemptRecord listed = Stored(Delivery(), reference, now);
  FillRequestHeaders(listed);
  AttemptRecord headers_only;
  *headers_only.mutable_request_headers() = listed.request_headers();
  EXPECT_LT(reference.ByteSizeLong() * 3, headers_only.ByteSizeLong());
}

}  // namespace
}  // namespace webhooks::core
