// Deliveries, attempts and outcome notices between the domain and the API.
#ifndef WEBHOOKS_SERVER_CONVERTERS_DELIVERY_CONVERTER_H_
#define WEBHOOKS_SERVER_CONVERTERS_DELIVERY_CONVERTER_H_

#include "core/outcome_bus.h"
#include "webhooks/internal/records.pb.h"
#include "webhooks/v1/delivery.pb.h"

namespace webhooks::server {

v1::DeliveryAttempt AttemptToApi(const internal::AttemptRecord& record);
v1::Delivery DeliveryToApi(const internal::DeliveryRecord& record);
v1::Outcome OutcomeToApi(const core::OutcomeNotice& notice);

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_CONVERTERS_DELIVERY_CONVERTER_H_
