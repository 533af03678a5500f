// Events, transactions and match verdicts between the API (webhooks.v1) and
// the domain.
#ifndef WEBHOOKS_SERVER_CONVERTERS_EVENT_CONVERTER_H_
#define WEBHOOKS_SERVER_CONVERTERS_EVENT_CONVERTER_H_

#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/event_matcher.h"
#include "core/transaction_log.h"
#include "webhooks/v1/event.pb.h"

namespace webhooks::server {

// INVALID_ARGUMENT naming "<prefix>.acl[i].action" when an ACL entry is
// neither ALLOW nor DENY, "<prefix>.occur_time" when it is before 1970 or
// after 9999 (or its nanos are not 0..999999999). Everything else is
// validated by the domain.
absl::StatusOr<core::EventRecord> EventFromApi(std::string_view prefix,
                                               const v1::Event& api);

// The request's ttl (std::nullopt when unset). INVALID_ARGUMENT naming
// ttl.nanos when the nanos are out of range; a ttl too long for any limit
// (even 2^63-1 s) comes back as a long duration for the domain to refuse with
// "at most ...", never wrapped around to a negative one.
absl::StatusOr<std::optional<absl::Duration>> TtlFromApi(
    const v1::PrepareRequest& request);

v1::Transaction TransactionToApi(const core::TransactionRecord& record);

v1::SubscriptionMatch MatchToApi(const core::Candidate& candidate);

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_CONVERTERS_EVENT_CONVERTER_H_
