#include "server/converters/subscription_converter.h"

#include "absl/status/status.h"
#include "common/strings.h"
#include "core/client_certificate.h"
#include "server/converters/time_converter.h"

namespace webhooks::server {
namespace {

// Whole microseconds, rounded away from zero (a nonzero duration stays set).
int64_t Micros(const google::protobuf::Duration& d) {
  int64_t micros = d.seconds() * 1000000 + d.nanos() / 1000;
  if (d.nanos() % 1000 > 0) ++micros;
  if (d.nanos() % 1000 < 0) --micros;
  return micros;
}

void SetDuration(int64_t micros, google::protobuf::Duration* d) {
  d->set_seconds(micros / 1000000);
  d->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
}

}  // namespace

core::DeliveryControlRecord DeliveryFromApi(const v1::DeliveryControl& api) {
  core::DeliveryControlRecord record;
  if (api.has_rate_limit()) {
    record.set_rate_limited(true);
    record.set_rate_per_second(api.rate_limit().per_second());
    record.set_burst(api.rate_limit().burst());
  }
  record.set_max_in_flight(api.max_in_flight());
  record.set_connect_timeout_micros(Micros(api.connect_timeout()));
  record.set_timeout_micros(Micros(api.timeout()));
  for (const auto& delay : api.retry_schedule()) {
    record.add_retry_schedule_micros(Micros(delay));
  }
  record.set_ordered(api.ordering().enabled());
  record.set_order_key_path(api.ordering().key_path());
  return record;
}

v1::DeliveryControl DeliveryToApi(const core::DeliveryControlRecord& record) {
  v1::DeliveryControl api;
  if (record.rate_limited()) {
    api.mutable_rate_limit()->set_per_second(record.rate_per_second());
    api.mutable_rate_limit()->set_burst(record.burst());
  }
  api.set_max_in_flight(record.max_in_flight());
  if (record.connect_timeout_micros() != 0) {
    SetDuration(record.connect_timeout_micros(), api.mutable_connect_timeout());
  }
  if (record.timeout_micros() != 0) {
    SetDuration(record.timeout_micros(), api.mutable_timeout());
  }
  for (int64_t micros : record.retry_schedule_micros()) {
    SetDuration(micros, api.add_retry_schedule());
  }
  if (record.ordered() || !record.order_key_path().empty()) {
    api.mutable_ordering()->set_enabled(record.ordered());
    api.mutable_ordering()->set_key_path(record.order_key_path());
  }
  return api;
}

core::SubscriptionRecord SubscriptionFromApi(const v1::Subscription& api) {
  core::SubscriptionRecord record;
  record.set_id(api.id());
  record.set_site(api.site());
  record.set_resource_type(api.resource_type());
  record.set_event_type(api.event_type());
  record.set_target_url(api.target_url());
  record.set_owner(api.owner());
  record.set_permission(api.permission());
  record.set_dialect(api.dialect());
  record.set_filter(api.filter());
  record.set_bypass_proxy(api.bypass_proxy());
  if (api.has_client_certificate()) {
    record.set_client_certificate_pem(
        api.client_certificate().certificate_pem());
    record.set_client_key_pem(api.client_certificate().private_key_pem());
  }
  if (api.has_delivery()) {
    *record.mutable_delivery() = DeliveryFromApi(api.delivery());
  }
  return record;
}

v1::Subscription SubscriptionToApi(const core::SubscriptionRecord& record,
                                   bool include_secret) {
  v1::Subscription api;
  api.set_id(record.id());
  api.set_site(record.site());
  api.set_resource_type(record.resource_type());
  api.set_event_type(record.event_type());
  api.set_target_url(record.target_url());
  api.set_owner(record.owner());
  api.set_permission(record.permission());
  api.set_dialect(record.dialect());
  api.set_filter(record.filter());
  api.set_bypass_proxy(record.bypass_proxy());
  if (!record.client_certificate_pem().empty()) {
    *api.mutable_client_certificate() = ClientCertificateToApi(
        record.client_certificate_pem(), record.client_key_pem());
  }
  if (record.has_delivery()) {
    *api.mutable_delivery() = DeliveryToApi(record.delivery());
  }
  api.set_active(record.active());
  api.set_status_message(record.status_message());
  api.set_static_(record.is_static());
  SetTimestamp(record.create_time_micros(), api,
               &v1::Subscription::mutable_create_time);
  SetTimestamp(record.update_time_micros(), api,
               &v1::Subscription::mutable_update_time);
  if (include_secret) api.set_secret(record.secret());
  return api;
}

v1::ClientCertificate ClientCertificateToApi(const std::string& certificate_pem,
                                             const std::string& key_pem) {
  v1::ClientCertificate cert;  // the private key is never returned
  cert.set_certificate_pem(certificate_pem);
  absl::StatusOr<core::ClientCertificateInfo> info =
      core::CheckClientCertificate("client_certificate", certificate_pem,
                                   key_pem);
  if (info.ok()) {
    cert.set_subject(info->subject);
    SetTimestamp(absl::ToUnixMicros(info->not_after), cert,
                 &v1::ClientCertificate::mutable_expire_time);
  }
  return cert;
}

absl::StatusOr<core::ListQuery> ListQueryFromApi(
    const v1::ListSubscriptionsRequest& request) {
  if (!v1::ListSubscriptionsRequest::ActiveFilter_IsValid(
          request.active_filter())) {
    return absl::InvalidArgumentError(
        StrCat("active_filter: unknown value ", request.active_filter()));
  }
  core::ListQuery query;
  query.site = request.site();
  query.include_descendants = request.include_descendants();
  query.owner = request.owner();
  switch (request.active_filter()) {
    case v1::ListSubscriptionsRequest::ACTIVE_ONLY:
      query.active = core::ListQuery::Active::kActiveOnly;
      break;
    case v1::ListSubscriptionsRequest::INACTIVE_ONLY:
      query.active = core::ListQuery::Active::kInactiveOnly;
      break;
    default:
      query.active = core::ListQuery::Active::kAny;
  }
  query.page_size = request.page_size();
  query.page_token = request.page_token();
  return query;
}

}  // namespace webhooks::server
