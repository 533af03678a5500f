#include "core/request_renderer.h"

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "core/dialect_catalog.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhooks::core {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

constexpr char kSecret[] = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

std::shared_ptr<const internal::EventRecord> Event() {
  auto made = std::make_shared<internal::EventRecord>();
  internal::EventRecord& event = *made;
  event.set_id("evt_1");
  event.add_resource_types("employee");
  event.add_event_types("added");
  event.set_occur_time_micros(1700000000123456);
  internal::RepresentationRecord& body = (*event.mutable_representations())["full"];
  body.set_body(R"({"id":"emp-1"})");
  body.set_content_type("application/vnd.example+json");
  return made;
}

internal::DeliveryRecord Delivery() {
  internal::DeliveryRecord delivery;
  delivery.set_id("dlv_1");
  delivery.set_target_url("https://hooks.example.com/in");
  delivery.set_representation("full");
  return delivery;
}

internal::DialectRecord Dialect(int envelope) {
  internal::DialectRecord dialect;
  dialect.set_http_method("PUT");
  dialect.set_content_type("application/json");
  dialect.set_user_agent("webhookd/1");
  (*dialect.mutable_headers())["X-Tenant"] = "acme";
  dialect.set_signing(kSigningStandardWebhooks);
  dialect.set_envelope(envelope);
  return dialect;
}

TEST(RenderRequestTest, RendersTheDialectsRequest) {
  const WebhookSigner signer({kSecret});
  const absl::Time now = absl::FromUnixSeconds(1700000100);
  absl::StatusOr<HttpRequest> request =
      RenderRequest(Delivery(), Event(), Dialect(kEnvelopeRaw), signer, now);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->url, "https://hooks.example.com/in");
  EXPECT_EQ(request->method, "PUT");
  EXPECT_EQ(request->body, R"({"id":"emp-1"})");
  EXPECT_THAT(
      request->headers,
      ElementsAre(Pair("Content-Type", "application/vnd.example+json"),
                  Pair("User-Agent", "webhookd/1"), Pair("X-Tenant", "acme"),
                  Pair("webhook-id", "dlv_1"),
                  Pair("webhook-timestamp", "1700000100"),
                  Pair("webhook-signature",
                       *signer.Header("dlv_1", 1700000100, request->body))));
}

// A fan-out's requests point at the event's bytes rather than copying
// them, and keep the event alive while any of them is being sent.
TEST(RenderRequestTest, RawBodySharesTheEventsBytes) {
  const WebhookSigner signer({kSecret});
  const absl::Time now = absl::FromUnixSeconds(1700000100);
  std::shared_ptr<const internal::EventRecord> event = Event();
  const std::string& stored = event->representations().at("full").body();
  absl::StatusOr<HttpRequest> first =
      RenderRequest(Delivery(), event, Dialect(kEnvelopeRaw), signer, now);
  absl::StatusOr<HttpRequest> second =
      RenderRequest(Delivery(), event, Dialect(kEnvelopeRaw), signer, now);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->body.data(), stored.data());
  EXPECT_EQ(second->body.data(), stored.data());
  EXPECT_EQ(event.use_count(), 3);
  event.reset();  // the requests hold it now
  EXPECT_EQ(first->body, R"({"id":"emp-1"})");
  HttpRequest copy = *first;  // copies share too
  first = absl::CancelledError();
  second = absl::CancelledError();
  EXPECT_EQ(copy.body, R"({"id":"emp-1"})");

  // The standard envelope is built per request: its own bytes.
  event = Event();
  absl::StatusOr<HttpRequest> wrapped = RenderRequest(
      Delivery(), event, Dialect(kEnvelopeStandardJson), signer, now);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  EXPECT_EQ(event.use_count(), 1);
}

TEST(RequestBodyTest, OwnsOrSharesItsBytes) {
  RequestBody empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_EQ(empty, "");
  RequestBody own = std::string("abc");
  RequestBody copy = own;
  EXPECT_EQ(copy.data(), own.data());
  EXPECT_EQ(copy, "abc");
  auto holder = std::make_shared<std::string>("xyz");
  RequestBody shared = RequestBody::Shared(holder, holder.get());
  EXPECT_EQ(shared.data(), holder->data());
  holder.reset();
  EXPECT_EQ(shared, "xyz");
  EXPECT_EQ(std::string_view(shared).size(), 3u);
}

TEST(RenderRequestTest, StandardEnvelopeWrapsTheRepresentation) {
  const WebhookSigner signer({kSecret});
  absl::StatusOr<HttpRequest> request =
      RenderRequest(Delivery(), Event(), Dialect(kEnvelopeStandardJson), signer,
                    absl::FromUnixSeconds(1700000100));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->body,
            R"({"type":"employee.added","timestamp":"2023-11-14T22:13:20.123456Z",)"
            R"("data":{"id":"emp-1"}})");
  EXPECT_EQ(request->headers[0], (std::pair<std::string, std::string>(
                                     "Content-Type", "application/json")));
}

TEST(RenderRequestTest, MissingRepresentationOrBadSecretIsAnError) {
  internal::DeliveryRecord delivery = Delivery();
  delivery.set_representation("summary");
  const WebhookSigner signer({kSecret});
  absl::StatusOr<HttpRequest> missing =
      RenderRequest(delivery, Event(), Dialect(kEnvelopeRaw), signer,
                    absl::FromUnixSeconds(1));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(missing.status().message()),
              ::testing::HasSubstr("\"summary\""));
  const WebhookSigner bad({"not-a-secret"});
  EXPECT_EQ(RenderRequest(Delivery(), Event(), Dialect(kEnvelopeRaw), bad,
                          absl::FromUnixSeconds(1))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace webhooks::core
