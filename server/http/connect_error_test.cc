#include "server/http/connect_error.h"

#include "gtest/gtest.h"

namespace webhooks::server {
namespace {

TEST(ConnectErrorTest, CodesAndHttpStatuses) {
  EXPECT_EQ(ConnectCodeName(grpc::StatusCode::INVALID_ARGUMENT), "invalid_argument");
  EXPECT_EQ(ConnectHttpStatus(grpc::StatusCode::INVALID_ARGUMENT), 400);
  EXPECT_EQ(ConnectHttpStatus(grpc::StatusCode::UNAUTHENTICATED), 401);
  EXPECT_EQ(ConnectHttpStatus(grpc::StatusCode::PERMISSION_DENIED), 403);
  EXPECT_EQ(ConnectHttpStatus(grpc::StatusCode::NOT_FOUND), 404);
  EXPECT_EQ(ConnectHttpStatus(grpc::StatusCode::UNIMPLEMENTED), 404);
  EXPECT_EQ(ConnectHttpStatus(grpc::StatusCode::ALREADY_EXISTS), 409);
  EXPECT_EQ(ConnectHttpStatus(grpc::StatusCode::RESOURCE_EXHAUSTED), 429);
  EXPECT_EQ(ConnectHttpStatus(grpc::StatusCode::FAILED_PRECONDITION), 400);
  EXPECT_EQ(ConnectHttpStatus(grpc::StatusCode::UNAVAILABLE), 503);
  EXPECT_EQ(ConnectHttpStatus(grpc::StatusCode::CANCELLED), 499);
  EXPECT_EQ(ConnectCodeName(grpc::StatusCode::CANCELLED), "canceled");
  EXPECT_EQ(ConnectHttpStatus(grpc::StatusCode::INTERNAL), 500);
}

TEST(ConnectErrorTest, MessageIsEscaped) {
  EXPECT_EQ(ConnectErrorJson(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                          "a \"b\"\n\\")),
            R"({"code":"not_found","message":"a \"b\"\n\\"})");
}

// A google.rpc.Status with one Any detail (type_url, value) becomes
// details [{"type", "value" (base64, unpadded)}].
TEST(ConnectErrorTest, BinaryDetailsBecomeConnectDetails) {
  const std::string type_url = "type.googleapis.com/google.rpc.BadRequest";
  const std::string value = "ab";
  std::string any;
  any += '\x0a';
  any += static_cast<char>(type_url.size());
  any += type_url;
  any += '\x12';
  any += static_cast<char>(value.size());
  any += value;
  std::string rpc_status = "\x08\x03";  // code 3
  rpc_status += '\x1a';
  rpc_status += static_cast<char>(any.size());
  rpc_status += any;
  grpc::Status status(grpc::StatusCode::INVALID_ARGUMENT, "bad", rpc_status);
  EXPECT_EQ(ConnectErrorJson(status),
            R"({"code":"invalid_argument","message":"bad","details":[)"
            R"({"type":"google.rpc.BadRequest","value":"YWI"}]})");
}

}  // namespace
}  // namespace webhooks::server
