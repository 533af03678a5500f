// Early-return helpers for absl::Status and absl::StatusOr.
//
//   absl::StatusOr<Foo> MakeFoo();
//   absl::Status Use() {
//     RETURN_IF_ERROR(Check());
//     ASSIGN_OR_RETURN(Foo foo, MakeFoo());
//     ...
//   }
#ifndef WEBHOOKS_COMMON_STATUS_MACROS_H_
#define WEBHOOKS_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define WEBHOOKS_CONCAT_INNER_(a, b) a##b
#define WEBHOOKS_CONCAT_(a, b) WEBHOOKS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::absl::Status webhooks_status_ = (expr);          \
    if (!webhooks_status_.ok()) return webhooks_status_; \
  } while (0)

// Evaluates `rexpr` (a StatusOr); returns its status when not OK, otherwise
// moves its value into `lhs`, which may be a declaration.
#define ASSIGN_OR_RETURN(lhs, rexpr)                                       \
  ASSIGN_OR_RETURN_IMPL_(WEBHOOKS_CONCAT_(webhooks_statusor_, __LINE__), \
                         lhs, rexpr)

#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                           \
  if (!statusor.ok()) return statusor.status();      \
  lhs = std::move(statusor).value()

#endif  // WEBHOOKS_COMMON_STATUS_MACROS_H_
