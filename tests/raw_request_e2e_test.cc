// Request bytes that do not parse as the method's message (issue 15: they
// got UNIMPLEMENTED with an empty message, before authentication).
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/api_client.h"
#include "tests/matchers.h"
#include "tests/server_process.h"

namespace webhooks::e2e {
namespace {

using ::testing::HasSubstr;

// Calls `method` with `bytes` as the request and `token` (if any).
grpc::Status RawCall(const std::shared_ptr<grpc::Channel>& channel,
                     const std::string& method, const std::string& bytes,
                     const std::string& token) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::CompletionQueue cq;
  grpc::Status status;
  auto call = stub.PrepareUnaryCall(&context, method, request, &cq);
  call->StartCall();
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

constexpr char kGet[] = "/webhooks.v1.SubscriptionService/GetSubscription";
// GetSubscriptionRequest.id (field 1) with invalid UTF-8.
const std::string kBadUtf8("\x0a\x02\xff\xfe", 4);
// A length-delimited field 1 that claims 5 bytes and has 3.
const std::string kTruncated("\x0a\x05" "abc", 5);

TEST(RawRequestE2eTest, UnparsableRequestIsInvalidArgument) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> server,
                       ServerProcess::Start(TokensConfig()));
  for (const std::string& bytes : {kBadUtf8, kTruncated}) {
    grpc::Status status = RawCall(server->NewChannel(), kGet, bytes, kAdminToken);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(),
                HasSubstr("request: could not be parsed as the request "
                          "message of GetSubscription"));
  }
  // A streaming method too.
  grpc::Status watch =
      RawCall(server->NewChannel(), "/webhooks.v1.DeliveryService/WatchOutcomes",
              kTruncated, kAdminToken);
  EXPECT_EQ(watch.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << watch.error_message();
}

TEST(RawRequestE2eTest, UnparsableRequestIsAuthenticatedFirst) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> server,
                       ServerProcess::Start(TokensConfig()));
  for (const std::string& token : {std::string(), std::string(kUnknownToken)}) {
    grpc::Status status = RawCall(server->NewChannel(), kGet, kTruncated, token);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << status.error_message();
  }
}

TEST(RawRequestE2eTest, UnknownMethodIsStillUnimplemented) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> server,
                       ServerProcess::Start(TokensConfig()));
  grpc::Status status =
      RawCall(server->NewChannel(), "/webhooks.v1.SubscriptionService/Nope",
              "", kAdminToken);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace webhooks::e2e
