// WatchOutcomes streams are bounded per caller (issue 15: 2,000 unread
// streams held memory without limit); see server/handlers/watch_quota.h.
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/api_client.h"
#include "tests/matchers.h"
#include "tests/server_process.h"
#include "webhooks/v1/delivery.grpc.pb.h"

namespace webhooks::e2e {
namespace {

using ::testing::HasSubstr;

// An open WatchOutcomes stream that never reads.
struct OpenWatch {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::Outcome>> reader;
};

std::unique_ptr<OpenWatch> Watch(v1::DeliveryService::Stub& stub,
                                 const std::string& token) {
  auto watch = std::make_unique<OpenWatch>();
  watch->context.AddMetadata("authorization", "Bearer " + token);
  watch->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Minutes(2)));
  watch->reader = stub.WatchOutcomes(&watch->context, v1::WatchOutcomesRequest());
  watch->reader->WaitForInitialMetadata();
  return watch;
}

TEST(WatchLimitsE2eTest, StreamsPerCallerAreBounded) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> server,
                       ServerProcess::Start(TokensConfig()));
  std::shared_ptr<grpc::Channel> channel = server->NewChannel();
  auto stub = v1::DeliveryService::NewStub(channel);
  std::vector<std::unique_ptr<OpenWatch>> open;
  for (int i = 0; i < 16; ++i) open.push_back(Watch(*stub, kAliceToken));
  Api alice(channel, kAliceToken);
  EXPECT_THAT(alice.WatchOutcomes({}, absl::Seconds(5)),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("per caller")));
  // Another caller still may.
  EXPECT_THAT(Api(channel, kBobToken).WatchOutcomes({}, absl::Milliseconds(500)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, testing::_));
  // Once one closes, alice may again.
  open.back()->context.TryCancel();
  open.back()->reader->Finish();
  open.pop_back();
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  absl::Status again;
  do {
    again = alice.WatchOutcomes({}, absl::Milliseconds(300));
  } while (absl::IsResourceExhausted(again) && absl::Now() < deadline);
  EXPECT_EQ(again.code(), absl::StatusCode::kDeadlineExceeded) << again;
  for (auto& watch : open) watch->context.TryCancel();
}

}  // namespace
}  // namespace webhooks::e2e
