// An attempt's request body is not stored with the attempt: its record
// names the stored event the body was rendered from (RequestBodyReference),
// so a body is stored once per event instead of once per delivery, and it
// is rendered again when the attempt is read. While the event is kept (its
// transaction's retention, 7 days after it resolves by default) that gives
// the body exactly as sent; afterwards the attempt reads as
// request_body_forgotten, with an empty body, as other webhook services
// treat payloads past their retention.
//
//   ReferToRequestBody(delivery, DeliveryEvents::KeyOf(delivery),
//                      dialect.envelope(), 64 << 10, attempt);
//   ...
//   RETURN_IF_ERROR(FillRequestBodies(store, page.attempts));
#ifndef WEBHOOKS_CORE_ATTEMPT_BODY_H_
#define WEBHOOKS_CORE_ATTEMPT_BODY_H_

#include <cstddef>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "storage/store.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::core {

// Makes `attempt` refer to the body `delivery` is sent with in `envelope`
// (a DialectEnvelope), of which it keeps `max_bytes`; `event_key` is
// DeliveryEvents::KeyOf(delivery), which the caller has at hand.
void ReferToRequestBody(const internal::DeliveryRecord& delivery,
                        const std::string& event_key, int envelope,
                        size_t max_bytes, internal::AttemptRecord& attempt);

// Fills in the request_body of an attempt that refers to it, from `event`
// (the one its reference names; null when that is no longer stored, or
// corrupt: request_body_forgotten). Leaves other attempts' bodies alone.
// Rebuilds the request headers too (FillRequestHeaders), so that what reads
// attempts calls one of these two.
void FillRequestBody(const internal::EventRecord* event,
                     internal::AttemptRecord& attempt);

// FillRequestBody for each of `attempts`, reading each event they refer to
// once (the headers are filled in even when that fails). The store's error when an event cannot be read.
absl::Status FillRequestBodies(const storage::Store& store,
                               std::span<internal::AttemptRecord> attempts);

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_ATTEMPT_BODY_H_
