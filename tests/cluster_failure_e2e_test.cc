// PostgreSQL's bad days, seen from a cluster of webhookd nodes under steady
// publishing: the database killed (-9) and started again, and the primary
// lost with a synchronous standby promoted in its place (the nodes hold a
// multi-host DSN). Meanwhile calls answer UNAVAILABLE (never INTERNAL, never
// a crash) and health says NOT_SERVING; afterwards the nodes serve again by
// themselves, and every event they acknowledged reaches every subscription.
#include <algorithm>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/cluster_fixture.h"
#include "tests/event_client.h"
#include "tests/matchers.h"

namespace webhooks::e2e {
namespace {

constexpr int kSubscriptions = 3;
constexpr char kRetries[] = "retry_schedule_seconds: [0, 1, 1, 2, 2, 5, 5]";

class ClusterFailureTest : public ClusterTest {
 protected:
  // kSubscriptions subscriptions, /hook0.., each known to every node.
  void Subscribe() {
    for (int i = 0; i < kSubscriptions; ++i) {
      ASSERT_OK(DeliveryE2eTest::Subscribe(
                    receiver_->Url(absl::StrCat("/hook", i)),
                    &admins_[i % admins_.size()])
                    .status());
    }
    for (size_t node = 0; node < nodes_.size(); ++node) {
      ASSERT_TRUE(WaitMatched(node, kSubscriptions));
    }
  }

  std::vector<Api> Publishers() const {
    std::vector<Api> all;
    for (size_t node = 0; node < nodes_.size(); ++node) {
      all.push_back(Publisher(node));
    }
    return all;
  }

  // Waits until every node's health is `serving` (1) or not (anything else).
  bool WaitHealth(bool serving, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      int agree = 0;
      for (const auto& node : nodes_) {
        absl::StatusOr<int> health = HealthCheck(node->NewChannel());
        if (health.ok() && (*health == 1) == serving) ++agree;
      }
      if (agree == static_cast<int>(nodes_.size())) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  // Every acknowledged event reaches every subscription; nothing arrives
  // that was not published.
  void ExpectEveryAcknowledgedDelivered(const PublishingLoad& load) {
    const std::set<std::string> acknowledged = load.acknowledged();
    for (int i = 0; i < kSubscriptions; ++i) {
      const std::string path = absl::StrCat("/hook", i);
      SCOPED_TRACE(path);
      const absl::Time deadline = absl::Now() + absl::Seconds(90);
      std::set<std::string> received;
      while (absl::Now() < deadline) {
        received = EventIds(receiver_->Requests(path));
        if (std::includes(received.begin(), received.end(),
                          acknowledged.begin(), acknowledged.end())) {
          break;
        }
        absl::SleepFor(absl::Milliseconds(200));
      }
      std::vector<std::string> missing;
      std::set_difference(acknowledged.begin(), acknowledged.end(),
                          received.begin(), received.end(),
                          std::back_inserter(missing));
      EXPECT_TRUE(missing.empty())
          << missing.size() << " of " << acknowledged.size()
          << " acknowledged events missing, e.g. " << missing.front();
      for (const std::string& id : received) {
        // An unacknowledged call may still have committed (its reply was
        // lost); anything else would be invented.
        EXPECT_TRUE(id.starts_with("k")) << id;
      }
    }
  }
};

TEST_F(ClusterFailureTest, PostgresKilledAndRestartedUnderPublishing) {
  ASSERT_NO_FATAL_FAILURE(StartNodes(2, kRetries));
  ASSERT_NO_FATAL_FAILURE(Subscribe());
  PublishingLoad load(Publishers(), "k");
  ASSERT_TRUE(load.WaitForMoreAcknowledged(20, absl::Seconds(30)));

  ASSERT_OK(postgres_->Kill9());
  EXPECT_TRUE(WaitHealth(false, absl::Seconds(10)));
  absl::SleepFor(absl::Seconds(1));
  // A read of stored data says UNAVAILABLE too (never INTERNAL).
  absl::Status listed = admins_[0].ListAllSubscriptions().status();
  EXPECT_EQ(listed.code(), absl::StatusCode::kUnavailable) << listed;
  ASSERT_OK(postgres_->Start());

  EXPECT_TRUE(WaitHealth(true, absl::Seconds(30)));
  EXPECT_TRUE(load.WaitForMoreAcknowledged(20, absl::Seconds(60)));
  load.Stop();
  const std::map<absl::StatusCode, int> failures = load.failures();
  EXPECT_FALSE(failures.empty()) << "the outage was not seen";
  for (const auto& [code, count] : failures) {
    EXPECT_EQ(code, absl::StatusCode::kUnavailable) << FailureSummary(failures);
  }
  ExpectEveryAcknowledgedDelivered(load);
  for (const auto& node : nodes_) EXPECT_TRUE(node->running());
}

TEST_F(ClusterFailureTest, PrimaryLostAndSynchronousStandbyPromoted) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<testing::PostgresServer> primary,
                       testing::PostgresServer::StartNew());
  ASSERT_OK(primary->CreateDatabase("failover").status());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<testing::PostgresServer> standby,
                       primary->StartStandby(/*synchronous=*/true));
  ASSERT_NO_FATAL_FAILURE(StartNodesOn(
      testing::PostgresServer::MultiHostDsn({primary.get(), standby.get()},
                                            "failover"),
      2, kRetries));
  ASSERT_NO_FATAL_FAILURE(Subscribe());
  PublishingLoad load(Publishers(), "k");
  ASSERT_TRUE(load.WaitForMoreAcknowledged(20, absl::Seconds(30)));

  ASSERT_OK(primary->Kill9());
  EXPECT_TRUE(WaitHealth(false, absl::Seconds(10)));
  ASSERT_OK(standby->Promote());

  EXPECT_TRUE(WaitHealth(true, absl::Seconds(30)));
  EXPECT_TRUE(load.WaitForMoreAcknowledged(20, absl::Seconds(60)));
  load.Stop();
  const std::map<absl::StatusCode, int> failures = load.failures();
  EXPECT_FALSE(failures.empty()) << "the failover was not seen";
  for (const auto& [code, count] : failures) {
    EXPECT_EQ(code, absl::StatusCode::kUnavailable) << FailureSummary(failures);
  }
  ExpectEveryAcknowledgedDelivered(load);
  for (const auto& node : nodes_) EXPECT_TRUE(node->running());
  nodes_.clear();  // before the databases they use
}

}  // namespace
}  // namespace webhooks::e2e
