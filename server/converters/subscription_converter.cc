#include "server/converters/subscription_converter.h"

#include "absl/status/status.h"
#include "common/strings.h"
#include "core/client_certificate.h"
#include "server/converters/time_converter.h"

namespace webhooks::server {

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
    // The private key is never returned.
    v1::ClientCertificate& cert = *api.mutable_client_certificate();
    cert.set_certificate_pem(record.client_certificate_pem());
    absl::StatusOr<core::ClientCertificateInfo> info =
        core::CheckClientCertificate("client_certificate",
                                     record.client_certificate_pem(),
                                     record.client_key_pem());
    if (info.ok()) {
      cert.set_subject(info->subject);
      SetTimestamp(absl::ToUnixMicros(info->not_after), cert,
                   &v1::ClientCertificate::mutable_expire_time);
    }
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
