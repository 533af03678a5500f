// Every error the domain returns, as named factories, so messages are
// consistent and greppable. Codes follow the API contract: bad input is
// INVALID_ARGUMENT naming the field; missing things are NOT_FOUND; state
// conflicts are FAILED_PRECONDITION.
//
//   return error::InvalidField("subscription.site", "must start with '/'");
#ifndef WEBHOOKS_CORE_ERRORS_H_
#define WEBHOOKS_CORE_ERRORS_H_

#include <string_view>

#include "absl/status/status.h"

namespace webhooks::core::error {

// INVALID_ARGUMENT "<field>: <problem>".
absl::Status InvalidField(std::string_view field, std::string_view problem);
// INVALID_ARGUMENT "<field> is required".
absl::Status RequiredField(std::string_view field);
// INVALID_ARGUMENT "<field>: longer than <max> bytes".
absl::Status FieldTooLong(std::string_view field, size_t max);
// INVALID_ARGUMENT "<field>: not a valid page token".
absl::Status BadPageToken(std::string_view field);

// NOT_FOUND.
absl::Status SubscriptionNotFound(std::string_view id);
absl::Status DialectNotFound(std::string_view name);
absl::Status PrincipalNotFound(std::string_view id);

// FAILED_PRECONDITION "<field>: dialect "<name>" does not exist".
absl::Status DialectMissing(std::string_view field, std::string_view name);
// FAILED_PRECONDITION: the built-in dialect cannot be changed or deleted.
absl::Status DialectBuiltin(std::string_view name);
// FAILED_PRECONDITION: a static dialect is managed by the config file.
absl::Status DialectStatic(std::string_view name);
// FAILED_PRECONDITION: subscriptions still use the dialect.
absl::Status DialectInUse(std::string_view name, size_t subscriptions);
// ALREADY_EXISTS.
absl::Status DialectExists(std::string_view name);
// FAILED_PRECONDITION: static subscriptions live in the config file.
absl::Status SubscriptionStatic(std::string_view id, std::string_view action);
// RESOURCE_EXHAUSTED.
absl::Status TooMany(std::string_view what, size_t max);
// PERMISSION_DENIED: a subscriber may only own its own subscriptions.
absl::Status OwnerNotCaller(std::string_view field, std::string_view caller);

// NOT_FOUND.
absl::Status TransactionNotFound(std::string_view id);
// FAILED_PRECONDITION "transaction "<id>" is <state>; it cannot be <action>".
absl::Status TransactionResolved(std::string_view id, std::string_view state,
                                 std::string_view action);
// RESOURCE_EXHAUSTED "<field>: at most <max> <what>".
absl::Status LimitExceeded(std::string_view field, size_t max,
                           std::string_view what);

}  // namespace webhooks::core::error

#endif  // WEBHOOKS_CORE_ERRORS_H_
