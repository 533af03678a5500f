#include "server/http/connect_stream.h"

#include <atomic>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/http/connect_gateway.h"
#include "webhooks/v1/delivery.grpc.pb.h"

namespace webhooks::server {
namespace {

using ::testing::HasSubstr;

// A DeliveryService whose WatchOutcomes does what OutcomeWatcher does:
// subscribes (here: marks `watching`), then sends its headers; then one
// outcome and the end. With `refuse`, it ends at once with an error.
class FakeWatch final : public v1::DeliveryService::CallbackService {
 public:
  explicit FakeWatch(bool refuse) : refuse_(refuse) {}
  std::atomic<bool> watching{false};

  grpc::ServerWriteReactor<v1::Outcome>* WatchOutcomes(
      grpc::CallbackServerContext*, const v1::WatchOutcomesRequest*) override {
    return new Reactor(this);
  }

 private:
  class Reactor final : public grpc::ServerWriteReactor<v1::Outcome> {
   public:
    explicit Reactor(FakeWatch* service) {
      if (service->refuse_) {
        Finish(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "not yours"));
        return;
      }
      service->watching = true;
      StartSendInitialMetadata();
      outcome_.set_message("hello");
      StartWrite(&outcome_);
    }
    void OnWriteDone(bool) override { Finish(grpc::Status::OK); }
    void OnDone() override { delete this; }

   private:
    v1::Outcome outcome_;
  };
  const bool refuse_;
};

class ConnectStreamTest : public ::testing::Test {
 protected:
  void Serve(bool refuse) {
    service_ = std::make_unique<FakeWatch>(refuse);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    gateway_ = std::make_unique<ConnectGateway>(
        server_->InProcessChannel(grpc::ChannelArguments()),
        std::vector<std::string>{"webhooks.v1.DeliveryService"},
        ConnectGateway::Options());
  }
  void TearDown() override {
    gateway_.reset();
    if (server_ != nullptr) server_->Shutdown();
  }
  HttpResponse Watch() {
    HttpRequest request;
    request.method = "POST";
    request.path = "/webhooks.v1.DeliveryService/WatchOutcomes";
    request.headers = {{"content-type", "application/connect+json"}};
    request.body = ConnectEnvelope(0, "{}");
    return gateway_->Handle(request);
  }
  static std::string Drain(HttpResponse& response) {
    std::string body;
    while (std::optional<std::string> chunk =
               response.source->Next([] { return false; })) {
      body += *chunk;
    }
    return body;
  }

  std::unique_ptr<FakeWatch> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ConnectGateway> gateway_;
};

// The response's headers are what tells a client (the console's live view)
// that the stream is live: the gateway answers only once the server has
// subscribed, before any of the body is asked for.
TEST_F(ConnectStreamTest, HeadersGoOutOnlyOnceTheServerHasSubscribed) {
  Serve(/*refuse=*/false);
  HttpResponse response = Watch();
  EXPECT_TRUE(service_->watching.load());
  EXPECT_EQ(response.status, 200);
  ASSERT_NE(response.source, nullptr);
  const std::string body = Drain(response);
  EXPECT_THAT(body, HasSubstr("\"message\":\"hello\""));
  // The end-of-stream message (flags 0x02) with no error.
  EXPECT_THAT(body, HasSubstr(ConnectEnvelope(0x02, "{}")));
}

// A call the server ends at once still answers 200 with the error in the
// end-of-stream message, as Connect streams do.
TEST_F(ConnectStreamTest, ACallRefusedAtStartEndsWithItsError) {
  Serve(/*refuse=*/true);
  HttpResponse response = Watch();
  EXPECT_FALSE(service_->watching.load());
  EXPECT_EQ(response.status, 200);
  ASSERT_NE(response.source, nullptr);
  const std::string body = Drain(response);
  EXPECT_THAT(body, HasSubstr("\"code\":\"permission_denied\""));
  EXPECT_THAT(body, HasSubstr("not yours"));
}

}  // namespace
}  // namespace webhooks::server
