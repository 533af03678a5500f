// GoogleTest matchers and assertions for absl::Status and protobuf messages.
//
//   EXPECT_THAT(api.GetSubscription(""),
//               StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("id")));
//   EXPECT_THAT(got, EqualsProto(want));
//   ASSERT_OK_AND_ASSIGN(v1::Subscription sub, api.CreateSubscription(s));
#ifndef WEBHOOKS_TESTS_MATCHERS_H_
#define WEBHOOKS_TESTS_MATCHERS_H_

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace webhooks::e2e {

inline const absl::Status& GetStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// The status (of an absl::Status or absl::StatusOr) has `code` and a message
// matching `message_matcher`.
MATCHER_P2(StatusIs, code, message_matcher,
           absl::StrCat("has status code ", absl::StatusCodeToString(code))) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "whose status is " << status;
  if (status.code() != code) return false;
  return ::testing::ExplainMatchResult(
      message_matcher, std::string(status.message()), result_listener);
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "whose status is " << status;
  return status.ok();
}

// Protobuf equality, reporting the differing fields.
MATCHER_P(EqualsProto, expected, "equals " + expected.ShortDebugString()) {
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  if (differencer.Compare(expected, arg)) return true;
  *result_listener << "differs: " << diff;
  return false;
}

}  // namespace webhooks::e2e

#define E2E_CONCAT_INNER_(a, b) a##b
#define E2E_CONCAT_(a, b) E2E_CONCAT_INNER_(a, b)

#define ASSERT_OK(expr) ASSERT_THAT((expr), ::webhooks::e2e::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::webhooks::e2e::IsOk())

// Asserts that `rexpr` (an absl::StatusOr) is OK and moves its value into
// `lhs`, which may be a declaration.
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(E2E_CONCAT_(e2e_statusor_, __LINE__), lhs, rexpr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, rexpr)             \
  auto statusor = (rexpr);                                           \
  ASSERT_TRUE(statusor.ok()) << #rexpr << ": " << statusor.status(); \
  lhs = std::move(statusor).value()

#endif  // WEBHOOKS_TESTS_MATCHERS_H_
