#include "server/grpc_status.h"

#include <string>

#include "gtest/gtest.h"

namespace webhooks::server {
namespace {

using std::string_literals::operator""s;

// Issue 15: an error echoed a caller's NUL byte raw.
TEST(GrpcStatusTest, EscapesControlBytes) {
  grpc::Status status = ToGrpcStatus(absl::InvalidArgumentError(
      "subscription \"a\0b\x1f\x7f\" not found, caf\xc3\xa9"s));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "subscription \"a\\x00b\\x1f\\x7f\" not found, caf\xc3\xa9");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace webhooks::server
