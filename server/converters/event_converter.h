// Events, transactions and match verdicts between the API (webhooks.v1) and
// the domain.
#ifndef WEBHOOKS_SERVER_CONVERTERS_EVENT_CONVERTER_H_
#define WEBHOOKS_SERVER_CONVERTERS_EVENT_CONVERTER_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "core/event_matcher.h"
#include "core/transaction_log.h"
#include "webhooks/v1/event.pb.h"

namespace webhooks::server {

// INVALID_ARGUMENT naming "<prefix>.acl[i].action" when an ACL entry is
// neither ALLOW nor DENY. Everything else is validated by the domain.
absl::StatusOr<core::EventRecord> EventFromApi(std::string_view prefix,
                                               const v1::Event& api);

v1::Transaction TransactionToApi(const core::TransactionRecord& record);

v1::SubscriptionMatch MatchToApi(const core::Candidate& candidate);

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_CONVERTERS_EVENT_CONVERTER_H_
