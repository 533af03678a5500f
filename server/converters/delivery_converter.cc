#include "server/converters/delivery_converter.h"

#include "google/protobuf/util/time_util.h"
#include "server/converters/time_converter.h"

namespace webhooks::server {
namespace {

void CopyHeaders(
    const google::protobuf::RepeatedPtrField<internal::HeaderRecord>& from,
    google::protobuf::RepeatedPtrField<v1::Header>* to) {
  for (const internal::HeaderRecord& h : from) {
    v1::Header* header = to->Add();
    header->set_name(h.name());
    header->set_value(h.value());
  }
}

}  // namespace

v1::DeliveryAttempt AttemptToApi(const internal::AttemptRecord& r) {
  v1::DeliveryAttempt api;
  api.set_id(r.id());
  api.set_delivery_id(r.delivery_id());
  api.set_subscription_id(r.subscription_id());
  api.set_transaction_id(r.transaction_id());
  api.set_event_id(r.event_id());
  api.set_attempt_number(r.attempt_number());
  api.set_status(static_cast<v1::DeliveryAttempt::Status>(r.status()));
  api.set_message(r.message());
  v1::AttemptRequest* request = api.mutable_request();
  request->set_url(r.request_url());
  request->set_method(r.request_method());
  CopyHeaders(r.request_headers(), request->mutable_headers());
  request->set_body(r.request_body());
  request->set_body_forgotten(r.request_body_forgotten());
  if (r.status() != internal::AttemptRecord::PENDING) {
    v1::AttemptResponse* response = api.mutable_response();
    response->set_status_code(r.response_status());
    response->set_reason(r.response_reason());
    CopyHeaders(r.response_headers(), response->mutable_headers());
    response->set_body(r.response_body());
    response->set_body_truncated(r.response_body_truncated());
    *response->mutable_elapsed() =
        google::protobuf::util::TimeUtil::MicrosecondsToDuration(
            r.elapsed_micros());
  }
  SetTimestamp(r.create_time_micros(), api,
               &v1::DeliveryAttempt::mutable_create_time);
  SetTimestamp(r.complete_time_micros(), api,
               &v1::DeliveryAttempt::mutable_complete_time);
  return api;
}

v1::Delivery DeliveryToApi(const internal::DeliveryRecord& r) {
  v1::Delivery api;
  api.set_id(r.id());
  api.set_subscription_id(r.subscription_id());
  api.set_transaction_id(r.transaction_id());
  api.set_event_id(r.event_id());
  api.set_state(static_cast<v1::Delivery::State>(r.state()));
  api.set_attempt_count(r.attempt_count());
  if (r.state() == internal::DeliveryRecord::PENDING) {
    SetTimestamp(r.next_attempt_micros(), api,
                 &v1::Delivery::mutable_next_attempt_time);
  }
  SetTimestamp(r.create_time_micros(), api, &v1::Delivery::mutable_create_time);
  return api;
}

v1::Outcome OutcomeToApi(const core::OutcomeNotice& notice) {
  v1::Outcome api;
  switch (notice.kind) {
    case core::OutcomeNotice::Kind::kAttemptSucceeded:
      api.set_kind(v1::Outcome::ATTEMPT_SUCCEEDED);
      *api.mutable_attempt() = AttemptToApi(notice.attempt);
      break;
    case core::OutcomeNotice::Kind::kAttemptFailed:
      api.set_kind(v1::Outcome::ATTEMPT_FAILED);
      *api.mutable_attempt() = AttemptToApi(notice.attempt);
      break;
    case core::OutcomeNotice::Kind::kSubscriptionDeactivated:
      api.set_kind(v1::Outcome::SUBSCRIPTION_DEACTIVATED);
      api.set_message(notice.message);
      break;
  }
  api.set_subscription_id(notice.subscription_id);
  SetTimestamp(absl::ToUnixMicros(notice.time), api, &v1::Outcome::mutable_time);
  return api;
}

}  // namespace webhooks::server
