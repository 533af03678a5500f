#include "webhooks/client/status.h"

#include <string>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "gtest/gtest.h"

namespace webhooks::client {
namespace {

TEST(FieldPathTest, FindsThePathTheServerWrites) {
  EXPECT_EQ(FieldPath("subscription.site: must be an absolute path starting "
                      "with '/'"),
            "subscription.site");
  EXPECT_EQ(FieldPath("events[0].resource_types is required"),
            "events[0].resource_types");
  EXPECT_EQ(FieldPath("events[0].acl[2]: unknown action"), "events[0].acl[2]");
  EXPECT_EQ(FieldPath("events[0].representations[\"webhook-delivery\"]: too "
                      "large"),
            "events[0].representations[\"webhook-delivery\"]");
  EXPECT_EQ(FieldPath("events[0].representations[\"a\\\"b\"]: x"),
            "events[0].representations[\"a\\\"b\"]");
  EXPECT_EQ(FieldPath("update_mask: unknown path \"x\""), "update_mask");
}

TEST(FieldPathTest, NamesNoFieldInOtherMessages) {
  EXPECT_EQ(FieldPath("subscription \"s1\" not found"), "");
  EXPECT_EQ(FieldPath("missing bearer token in the authorization metadata"),
            "");
  EXPECT_EQ(FieldPath(""), "");
  EXPECT_EQ(FieldPath("a.: x"), "");
  EXPECT_EQ(FieldPath("x[1: y"), "");
  EXPECT_EQ(FieldPath("9lives: no"), "");
  EXPECT_EQ(FieldPath("site is required for this"), "");
}

TEST(FromGrpcStatusTest, KeepsCodeAndMessage) {
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
  absl::Status status = FromGrpcStatus(
      grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "not yours"));
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(status.message(), "not yours");
  EXPECT_FALSE(status.GetPayload(kGrpcStatusDetailsUrl).has_value());
}

TEST(GetFieldErrorTest, SplitsTheMessage) {
  FieldError error = GetFieldError(FromGrpcStatus(
      grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                   "subscription.site: must be an absolute path")));
  EXPECT_EQ(error.field, "subscription.site");
  EXPECT_EQ(error.message, "must be an absolute path");
  EXPECT_TRUE(error.violations.empty());

  error = GetFieldError(absl::InvalidArgumentError("events is required"));
  EXPECT_EQ(error.field, "events");
  EXPECT_EQ(error.message, "is required");

  error = GetFieldError(absl::NotFoundError("subscription \"x\" not found"));
  EXPECT_EQ(error.field, "");
  EXPECT_EQ(error.message, "subscription \"x\" not found");
}

// Protobuf wire format by hand: the google.rpc protos are not installed.
class Wire {
 public:
  Wire& Bytes(int number, const std::string& value) {
    google::protobuf::io::StringOutputStream raw(&out_);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.WriteTag((number << 3) | 2);
    coded.WriteVarint32(static_cast<uint32_t>(value.size()));
    coded.WriteString(value);
    return *this;
  }
  Wire& Varint(int number, uint32_t value) {
    google::protobuf::io::StringOutputStream raw(&out_);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.WriteTag(number << 3);
    coded.WriteVarint32(value);
    return *this;
  }
  std::string str() const { return out_; }

 private:
  std::string out_;
};

TEST(GetFieldErrorTest, ReadsBadRequestDetails) {
  const std::string bad_request =
      Wire()
          .Bytes(1, Wire().Bytes(1, "subscription.site").Bytes(2, "bad").str())
          .Bytes(1, Wire()
                        .Bytes(1, "subscription.target_url")
                        .Bytes(2, "not https")
                        .str())
          .str();
  const std::string other_any =
      Wire()
          .Bytes(1, "type.googleapis.com/google.rpc.RetryInfo")
          .Bytes(2, Wire().Bytes(1, Wire().Bytes(1, "nope").str()).str())
          .str();
  const std::string any =
      Wire()
          .Bytes(1, "type.googleapis.com/google.rpc.BadRequest")
          .Bytes(2, bad_request)
          .str();
  const std::string details = Wire()
                                  .Varint(1, 3)
                                  .Bytes(2, "two problems")
                                  .Bytes(3, other_any)
                                  .Bytes(3, any)
                                  .str();
  absl::Status status = FromGrpcStatus(grpc::Status(
      grpc::StatusCode::INVALID_ARGUMENT, "two problems", details));
  EXPECT_TRUE(status.GetPayload(kGrpcStatusDetailsUrl).has_value());
  FieldError error = GetFieldError(status);
  ASSERT_EQ(error.violations.size(), 2u);
  EXPECT_EQ(error.violations[0].field, "subscription.site");
  EXPECT_EQ(error.violations[0].description, "bad");
  EXPECT_EQ(error.violations[1].field, "subscription.target_url");
  EXPECT_EQ(error.violations[1].description, "not https");
  // No field in the message: the first violation's.
  EXPECT_EQ(error.field, "subscription.site");
  EXPECT_EQ(error.message, "bad");

  // Garbage details are ignored.
  error = GetFieldError(FromGrpcStatus(grpc::Status(
      grpc::StatusCode::INVALID_ARGUMENT, "x", std::string("\xff\xff", 2))));
  EXPECT_TRUE(error.violations.empty());
}

}  // namespace
}  // namespace webhooks::client
