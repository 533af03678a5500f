#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "server/converters/dialect_converter.h"
#include "server/converters/event_converter.h"
#include "server/converters/subscription_converter.h"

namespace webhooks::server {
namespace {

TEST(SubscriptionConverterTest, SecretOnlyWhenAsked) {
  core::SubscriptionRecord record;
  record.set_id("sub_1");
  record.set_secret("whsec_abc");
  record.set_is_static(true);
  record.set_create_time_micros(1700000000123456);
  EXPECT_EQ(SubscriptionToApi(record, false).secret(), "");
  EXPECT_EQ(SubscriptionToApi(record, true).secret(), "whsec_abc");
  v1::Subscription api = SubscriptionToApi(record, false);
  EXPECT_TRUE(api.static_());
  EXPECT_EQ(api.create_time().seconds(), 1700000000);
  EXPECT_EQ(api.create_time().nanos(), 123456000);
  EXPECT_FALSE(api.has_update_time());
}

TEST(SubscriptionConverterTest, IgnoresOutputOnlyFields) {
  v1::Subscription api;
  api.set_id("sub_1");
  api.set_site("/a");
  api.set_active(false);
  api.set_secret("whsec_x");
  api.set_static_(true);
  api.set_status_message("nope");
  core::SubscriptionRecord record = SubscriptionFromApi(api);
  EXPECT_EQ(record.id(), "sub_1");
  EXPECT_EQ(record.site(), "/a");
  EXPECT_EQ(record.secret(), "");
  EXPECT_FALSE(record.is_static());
  EXPECT_EQ(record.status_message(), "");
}

TEST(SubscriptionConverterTest, DeliveryControlRoundTrips) {
  v1::Subscription api;
  v1::DeliveryControl* c = api.mutable_delivery();
  c->mutable_rate_limit()->set_per_second(0.5);
  c->set_max_in_flight(3);
  c->mutable_connect_timeout()->set_nanos(1500);  // rounds up to 2 us
  c->mutable_timeout()->set_seconds(7);
  c->add_retry_schedule()->set_seconds(0);
  c->add_retry_schedule()->set_seconds(60);
  core::SubscriptionRecord record = SubscriptionFromApi(api);
  EXPECT_TRUE(record.delivery().rate_limited());
  EXPECT_EQ(record.delivery().connect_timeout_micros(), 2);
  EXPECT_EQ(record.delivery().timeout_micros(), 7000000);
  ASSERT_EQ(record.delivery().retry_schedule_micros_size(), 2);
  v1::Subscription back = SubscriptionToApi(record, false);
  EXPECT_EQ(back.delivery().rate_limit().per_second(), 0.5);
  EXPECT_EQ(back.delivery().connect_timeout().nanos(), 2000);
  EXPECT_EQ(back.delivery().timeout().seconds(), 7);
  EXPECT_EQ(back.delivery().retry_schedule(1).seconds(), 60);
  // A zero rate given is kept as given (validation refuses it); none stays
  // none.
  v1::Subscription zero;
  zero.mutable_delivery()->mutable_rate_limit();
  EXPECT_TRUE(SubscriptionFromApi(zero).delivery().rate_limited());
  EXPECT_FALSE(SubscriptionFromApi(v1::Subscription()).has_delivery());
}

TEST(SubscriptionConverterTest, ListQueryFilters) {
  v1::ListSubscriptionsRequest request;
  request.set_site("/NOAA");
  request.set_include_descendants(true);
  request.set_active_filter(v1::ListSubscriptionsRequest::INACTIVE_ONLY);
  request.set_page_size(7);
  absl::StatusOr<core::ListQuery> converted = ListQueryFromApi(request);
  ASSERT_TRUE(converted.ok()) << converted.status();
  const core::ListQuery& query = *converted;
  EXPECT_EQ(query.site, "/NOAA");
  EXPECT_TRUE(query.include_descendants);
  EXPECT_EQ(query.active, core::ListQuery::Active::kInactiveOnly);
  EXPECT_EQ(query.page_size, 7);
}

// Issue 15: active_filter 99 listed everything.
TEST(SubscriptionConverterTest, UnknownActiveFilterNamesTheField) {
  v1::ListSubscriptionsRequest request;
  request.set_active_filter(
      static_cast<v1::ListSubscriptionsRequest::ActiveFilter>(99));
  absl::StatusOr<core::ListQuery> query = ListQueryFromApi(request);
  EXPECT_EQ(query.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(query.status().message(), "active_filter: unknown value 99");
}

TEST(DialectConverterTest, RoundTripsUserFields) {
  v1::Dialect api;
  api.set_name("zapier");
  api.set_representation("zapier-webhook-delivery");
  api.set_http_method("PUT");
  (*api.mutable_headers())["X-Team"] = "ops";
  api.set_signing(v1::Dialect::NONE);
  api.set_envelope(v1::Dialect::STANDARD_WEBHOOKS_JSON);
  api.set_builtin(true);  // output only: ignored
  core::DialectRecord record = DialectFromApi(api);
  EXPECT_FALSE(record.builtin());
  v1::Dialect back = DialectToApi(record);
  EXPECT_EQ(back.name(), "zapier");
  EXPECT_EQ(back.http_method(), "PUT");
  EXPECT_EQ(back.headers().at("X-Team"), "ops");
  EXPECT_EQ(back.signing(), v1::Dialect::NONE);
  EXPECT_EQ(back.envelope(), v1::Dialect::STANDARD_WEBHOOKS_JSON);
}

// Issue 15: occur_time beyond year 9999, before 1970, or with nanos >= 1e9
// was accepted and rendered wrongly.
TEST(EventConverterTest, OccurTimeOutOfRangeNamesTheField) {
  struct Case {
    int64_t seconds;
    int32_t nanos;
    const char* field;
  };
  for (const Case& c : {Case{253402300800, 0, "events[0].occur_time"},
                        Case{-1, 0, "events[0].occur_time"},
                        Case{1700000000, 1000000000, "events[0].occur_time.nanos"},
                        Case{1700000000, -1, "events[0].occur_time.nanos"}}) {
    v1::Event event;
    event.mutable_occur_time()->set_seconds(c.seconds);
    event.mutable_occur_time()->set_nanos(c.nanos);
    absl::StatusOr<core::EventRecord> record = EventFromApi("events[0]", event);
    EXPECT_EQ(record.status().code(), absl::StatusCode::kInvalidArgument)
        << c.seconds << " " << c.nanos;
    EXPECT_EQ(record.status().message().substr(0, std::string(c.field).size() + 1),
              std::string(c.field) + ":");
  }
  v1::Event last;
  last.mutable_occur_time()->set_seconds(253402300799);
  last.mutable_occur_time()->set_nanos(999999999);
  absl::StatusOr<core::EventRecord> record = EventFromApi("events[0]", last);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->occur_time_micros(), int64_t{253402300799999999});
}

// Issue 15: a ttl of 2^63-1 s wrapped around and was "not positive".
TEST(EventConverterTest, HugeTtlStaysHuge) {
  v1::PrepareRequest request;
  request.mutable_ttl()->set_seconds(std::numeric_limits<int64_t>::max());
  absl::StatusOr<std::optional<absl::Duration>> ttl = TtlFromApi(request);
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  ASSERT_TRUE(ttl->has_value());
  EXPECT_GT(**ttl, absl::Hours(24 * 365 * 1000));
  request.mutable_ttl()->set_seconds(5);
  request.mutable_ttl()->set_nanos(-1);
  EXPECT_EQ(TtlFromApi(request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.clear_ttl();
  ttl = TtlFromApi(request);
  ASSERT_TRUE(ttl.ok());
  EXPECT_FALSE(ttl->has_value());
}

}  // namespace
}  // namespace webhooks::server
