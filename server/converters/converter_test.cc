#include "gtest/gtest.h"
#include "server/converters/dialect_converter.h"
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

TEST(SubscriptionConverterTest, ListQueryFilters) {
  v1::ListSubscriptionsRequest request;
  request.set_site("/NOAA");
  request.set_include_descendants(true);
  request.set_active_filter(v1::ListSubscriptionsRequest::INACTIVE_ONLY);
  request.set_page_size(7);
  core::ListQuery query = ListQueryFromApi(request);
  EXPECT_EQ(query.site, "/NOAA");
  EXPECT_TRUE(query.include_descendants);
  EXPECT_EQ(query.active, core::ListQuery::Active::kInactiveOnly);
  EXPECT_EQ(query.page_size, 7);
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

}  // namespace
}  // namespace webhooks::server
