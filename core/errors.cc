#include "core/errors.h"

#include "absl/strings/str_cat.h"

namespace webhooks::core::error {

absl::Status InvalidField(std::string_view field, std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

absl::Status RequiredField(std::string_view field) {
  return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
}

absl::Status FieldTooLong(std::string_view field, size_t max) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": longer than ", max, " bytes"));
}

absl::Status BadPageToken(std::string_view field) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": not a valid page token for this request"));
}

absl::Status SubscriptionNotFound(std::string_view id) {
  return absl::NotFoundError(absl::StrCat("subscription \"", id, "\" not found"));
}

absl::Status DialectNotFound(std::string_view name) {
  return absl::NotFoundError(absl::StrCat("dialect \"", name, "\" not found"));
}

absl::Status PrincipalNotFound(std::string_view id) {
  return absl::NotFoundError(absl::StrCat("principal \"", id, "\" not found"));
}

absl::Status DialectMissing(std::string_view field, std::string_view name) {
  return absl::FailedPreconditionError(
      absl::StrCat(field, ": dialect \"", name, "\" does not exist"));
}

absl::Status DialectBuiltin(std::string_view name) {
  return absl::FailedPreconditionError(absl::StrCat(
      "dialect \"", name, "\" is built in and cannot be changed or deleted"));
}

absl::Status DialectStatic(std::string_view name) {
  return absl::FailedPreconditionError(
      absl::StrCat("dialect \"", name,
                   "\" is declared in the config file; change it there"));
}

absl::Status DialectInUse(std::string_view name, size_t subscriptions) {
  return absl::FailedPreconditionError(
      absl::StrCat("dialect \"", name, "\" is used by ", subscriptions,
                   " subscription(s)"));
}

absl::Status DialectExists(std::string_view name) {
  return absl::AlreadyExistsError(
      absl::StrCat("dialect \"", name, "\" already exists"));
}

absl::Status SubscriptionStatic(std::string_view id, std::string_view action) {
  return absl::FailedPreconditionError(
      absl::StrCat("subscription \"", id,
                   "\" is declared in the config file and cannot be ", action,
                   " through the API"));
}

absl::Status TooMany(std::string_view what, size_t max) {
  return absl::ResourceExhaustedError(
      absl::StrCat("too many ", what, " (at most ", max, ")"));
}

absl::Status OwnerNotCaller(std::string_view field, std::string_view caller) {
  return absl::PermissionDeniedError(
      absl::StrCat(field, ": a subscriber may only create and own its own "
                          "subscriptions (owner must be \"", caller, "\")"));
}

}  // namespace webhooks::core::error
