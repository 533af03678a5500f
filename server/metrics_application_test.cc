// The metrics endpoint wired into the Application: a published event's
// delivery shows up in the dispatcher's metrics.
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/strings.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/application.h"
#include "server/config_loader.h"
#include "server/metrics_test_client.h"
#include "storage/memory_store.h"
#include "webhooks/v1/event.grpc.pb.h"

namespace webhooks::server {
namespace {

using metrics_testing::HttpGet;
using metrics_testing::HttpReply;
using ::testing::HasSubstr;

// Answers every request 200 (elapsed 20 ms) on a thread of its own.
class OkSender final : public core::HttpSender {
 public:
  OkSender() : thread_([this] { Loop(); }) {}
  ~OkSender() override {
    {
      absl::MutexLock lock(&mu_);
      exiting_ = true;
    }
    thread_.join();
  }
  void Send(core::HttpRequest, core::HttpCallback done) override {
    {
      absl::MutexLock lock(&mu_);
      if (!stopped_) {
        queue_.push_back(std::move(done));
        return;
      }
    }
    done(core::HttpResult());  // kRejected
  }
  int InFlight() const override {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(queue_.size());
  }
  // Returns once no callback is queued or running.
  void Shutdown(absl::Duration) override {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    mu_.Await(absl::Condition(
        +[](OkSender* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
          return s->queue_.empty() && !s->busy_;
        },
        this));
  }

 private:
  void Loop() {
    while (true) {
      core::HttpCallback done;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](OkSender* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
              return s->exiting_ || !s->queue_.empty();
            },
            this));
        if (queue_.empty()) return;
        done = std::move(queue_.front());
        queue_.pop_front();
        busy_ = true;
      }
      core::HttpResult result;
      result.outcome = core::HttpResult::Outcome::kResponse;
      result.status_code = 200;
      result.reason = "OK";
      result.elapsed = absl::Milliseconds(20);
      // Outside the lock: the callback must not block, but may take time.
      done(std::move(result));
      absl::MutexLock lock(&mu_);
      busy_ = false;
    }
  }

  mutable absl::Mutex mu_;
  std::deque<core::HttpCallback> queue_ ABSL_GUARDED_BY(mu_);
  bool exiting_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool busy_ ABSL_GUARDED_BY(mu_) = false;  // a callback is running
  std::thread thread_;
};

v1::ServerConfig Config(std::string_view metrics_address) {
  absl::StatusOr<v1::ServerConfig> config = ParseConfig(R"pb(
    listen_address: "127.0.0.1:0"
    subscriptions {
      site: "/"
      resource_type: "user"
      event_type: "added"
      target_url: "https://hooks.example.com/users"
    }
  )pb");
  EXPECT_TRUE(config.ok()) << config.status();
  config->mutable_delivery()->set_metrics_listen_address(
      std::string(metrics_address));
  EXPECT_TRUE(FinalizeConfig(*config).ok());
  return *config;
}

absl::StatusOr<ApplicationPtr> StartApp(const v1::ServerConfig& config,
                                        const Clock* clock,
                                        RandomSource* random) {
  return Application::Start(config, std::make_unique<storage::MemoryStore>(),
                            std::make_unique<OkSender>(), clock, random);
}

TEST(MetricsApplicationTest, DeliveriesShowInMetrics) {
  SystemClock clock;
  SeededRandom random(7);
  absl::StatusOr<ApplicationPtr> app =
      StartApp(Config("127.0.0.1:0"), &clock, &random);
  ASSERT_TRUE(app.ok()) << app.status();
  const int port = (*app)->metrics_port();
  ASSERT_GT(port, 0);

  HttpReply before = HttpGet(port, "/metrics");
  EXPECT_EQ(before.status_line, "HTTP/1.1 200 OK");
  for (const char* line : {
           "webhookd_delivery_attempts_total{outcome=\"success\"} 0\n",
           "webhookd_delivery_attempts_total{outcome=\"refused\"} 0\n",
           "webhookd_delivery_retries_scheduled_total 0\n",
           "webhookd_deliveries_failed_total 0\n",
           "webhookd_subscriptions_deactivated_total 0\n",
           "webhookd_deliveries_in_flight 0\n",
           "webhookd_delivery_queue_depth 0\n",
           "webhookd_delivery_commit_to_send_seconds_count 0\n",
           "webhookd_delivery_attempt_duration_seconds_count 0\n",
           "webhookd_delivery_write_batch_size_count 0\n",
       }) {
    EXPECT_THAT(before.body, HasSubstr(line));
  }

  auto channel = grpc::CreateChannel(StrCat("127.0.0.1:", (*app)->port()),
                                     grpc::InsecureChannelCredentials());
  auto events = v1::EventService::NewStub(channel);
  v1::PublishRequest request;
  v1::Event* event = request.add_events();
  event->set_id("e1");
  event->set_site("/NOAA");
  event->add_resource_types("user");
  event->add_event_types("added");
  (*event->mutable_representations())["webhook-delivery"].set_body("{}");
  v1::PublishResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  const grpc::Status published = events->Publish(&context, request, &response);
  ASSERT_TRUE(published.ok()) << published.error_message();
  ASSERT_EQ(response.deliveries_created(), 1);

  std::string body;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    body = HttpGet(port, "/metrics").body;
    // The batch's size, the attempt's duration and its outcome are counted
    // one after the other: wait for all three.
    if (body.find("webhookd_delivery_write_batch_size_count 1\n") !=
            std::string::npos &&
        body.find("webhookd_delivery_attempt_duration_seconds_count 1\n") !=
            std::string::npos &&
        body.find("webhookd_delivery_attempts_total{outcome=\"success\"} 1\n") !=
            std::string::npos) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_THAT(body,
              HasSubstr("webhookd_delivery_attempts_total{outcome=\"success\"} "
                        "1\n"));
  EXPECT_THAT(body, HasSubstr("webhookd_delivery_commit_to_send_seconds_count "
                              "1\n"));
  EXPECT_THAT(body,
              HasSubstr("webhookd_delivery_attempt_duration_seconds_bucket{"
                        "le=\"0.025\"} 1\n"));
  EXPECT_THAT(body, HasSubstr("webhookd_delivery_attempt_duration_seconds_sum "
                              "0.02\n"));
  EXPECT_THAT(body,
              HasSubstr("webhookd_delivery_write_batch_size_bucket{le=\"1\"} "
                        "1\n"));
  (*app)->Shutdown(absl::Seconds(1));
  // Stopped with the application.
  EXPECT_FALSE(HttpGet(port, "/metrics").ok);
}

TEST(MetricsApplicationTest, OffUnlessConfigured) {
  SystemClock clock;
  SeededRandom random(7);
  absl::StatusOr<ApplicationPtr> app = StartApp(Config(""), &clock, &random);
  ASSERT_TRUE(app.ok()) << app.status();
  EXPECT_EQ((*app)->metrics_port(), 0);
}

TEST(MetricsApplicationTest, OpenModeRefusesNonLoopbackMetrics) {
  SystemClock clock;
  SeededRandom random(7);
  absl::StatusOr<ApplicationPtr> app =
      StartApp(Config("0.0.0.0:0"), &clock, &random);
  EXPECT_EQ(app.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(app.status().message(), HasSubstr("metrics_listen_address"));
}

TEST(MetricsApplicationTest, UnbindableMetricsAddressFailsStart) {
  SystemClock clock;
  SeededRandom random(7);
  absl::StatusOr<ApplicationPtr> first =
      StartApp(Config("127.0.0.1:0"), &clock, &random);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<ApplicationPtr> second = StartApp(
      Config(StrCat("127.0.0.1:", (*first)->metrics_port())), &clock, &random);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace webhooks::server
