// Validation of events submitted by publishers. Each check names the field
// with its position, e.g. "events[3].representations[\"webhook-delivery\"]".
//
//   for (int i = 0; i < n; ++i)
//     RETURN_IF_ERROR(NormalizeEvent(StrCat("events[", i, "]"), events[i],
//                                    limits, clock, random));
#ifndef WEBHOOKS_CORE_EVENT_VALIDATION_H_
#define WEBHOOKS_CORE_EVENT_VALIDATION_H_

#include <string_view>

#include "absl/status/status.h"
#include "common/clock.h"
#include "common/random.h"
#include "core/limits.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::core {

using internal::EventRecord;

// The representation every event must carry, and the fallback of dialects
// whose representation an event lacks.
inline constexpr std::string_view kDeliveryRepresentation = "webhook-delivery";
inline constexpr std::string_view kEveryone = "system.Everyone";

// Validates `event` and fills what may be left out:
//  - id: empty gets "evt_" + a new id; otherwise [A-Za-z0-9_.:-]{1,128};
//  - site: required, normalized (NormalizeSite); active_site: optional,
//    normalized when set;
//  - resource_types, event_types: 1..max_type_list tokens each (no "*",
//    which only subscriptions use), duplicates refused;
//  - representations: 1..max_representations, names are type tokens, one
//    must be "webhook-delivery"; each body at most max_representation_bytes;
//    content_type, when set, a valid header value;
//  - acl: at most max_acl_entries; each ALLOW or DENY (allow field), a valid
//    principal id (or system.Everyone), a permission token or "*";
//  - occur_time_micros: 0 becomes clock.Now().
// Malformed values: INVALID_ARGUMENT. Too many or too large (counts and
// bytes): RESOURCE_EXHAUSTED. Both name the field under `prefix`.
absl::Status NormalizeEvent(std::string_view prefix, EventRecord& event,
                            const Limits& limits, const Clock& clock,
                            RandomSource& random);

// A publisher-chosen transaction id: [A-Za-z0-9_.:-], 1..limits'
// max_transaction_id_length.
absl::Status ValidateTransactionId(std::string_view field, std::string_view id,
                                   const Limits& limits);

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_EVENT_VALIDATION_H_
