#include "core/errors.h"

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace webhooks::core::error {

absl::Status InvalidField(std::string_view field, std::string_view problem) {
  return absl::InvalidArgumentError(StrCat(field, ": ", problem));
}

absl::Status RequiredField(std::string_view field) {
  return absl::InvalidArgumentError(StrCat(field, " is required"));
}

absl::Status FieldTooLong(std::string_view field, size_t max) {
  return absl::InvalidArgumentError(
      StrCat(field, ": longer than ", max, " bytes"));
}

absl::Status BadPageToken(std::string_view field) {
  return absl::InvalidArgumentError(
      StrCat(field, ": not a valid page token for this request"));
}

absl::Status SubscriptionNotFound(std::string_view id) {
  return absl::NotFoundError(StrCat("subscription \"", id, "\" not found"));
}

absl::Status DialectNotFound(std::string_view name) {
  return absl::NotFoundError(StrCat("dialect \"", name, "\" not found"));
}

absl::Status PrincipalNotFound(std::string_view id) {
  return absl::NotFoundError(StrCat("principal \"", id, "\" not found"));
}

absl::Status DialectMissing(std::string_view field, std::string_view name) {
  return absl::FailedPreconditionError(
      StrCat(field, ": dialect \"", name, "\" does not exist"));
}

absl::Status DialectBuiltin(std::string_view name) {
  return absl::FailedPreconditionError(StrCat(
      "dialect \"", name, "\" is built in and cannot be changed or deleted"));
}

absl::Status DialectStatic(std::string_view name) {
  return absl::FailedPreconditionError(
      StrCat("dialect \"", name,
                   "\" is declared in the config file; change it there"));
}

absl::Status DialectInUse(std::string_view name, size_t subscriptions) {
  return absl::FailedPreconditionError(
      StrCat("dialect \"", name, "\" is used by ", subscriptions,
                   " subscription(s)"));
}

absl::Status DialectExists(std::string_view name) {
  return absl::AlreadyExistsError(
      StrCat("dialect \"", name, "\" already exists"));
}

absl::Status SubscriptionStatic(std::string_view id, std::string_view action) {
  return absl::FailedPreconditionError(
      StrCat("subscription \"", id,
                   "\" is declared in the config file and cannot be ", action,
                   " through the API"));
}

absl::Status TooMany(std::string_view what, size_t max) {
  return absl::ResourceExhaustedError(
      StrCat("too many ", what, " (at most ", max, ")"));
}

absl::Status OwnerNotCaller(std::string_view field, std::string_view caller) {
  return absl::PermissionDeniedError(
      StrCat(field, ": a subscriber may only create and own its own "
                          "subscriptions (owner must be \"", caller, "\")"));
}

absl::Status TransactionNotFound(std::string_view id) {
  return absl::NotFoundError(StrCat("transaction \"", id, "\" not found"));
}

absl::Status TransactionResolved(std::string_view id, std::string_view state,
                                 std::string_view action) {
  return absl::FailedPreconditionError(StrCat(
      "transaction \"", id, "\" is ", state, "; it cannot be ", action));
}

absl::Status LimitExceeded(std::string_view field, size_t max,
                           std::string_view what) {
  return absl::ResourceExhaustedError(
      StrCat(field, ": at most ", max, " ", what));
}

}  // namespace webhooks::core::error
