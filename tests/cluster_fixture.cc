#include "tests/cluster_fixture.h"

#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "tests/event_client.h"
#include "tests/matchers.h"

namespace webhooks::e2e {

testing::PostgresServer* ClusterTest::postgres_ = nullptr;

std::set<std::string> EventIds(const std::vector<ReceivedRequest>& requests) {
  std::set<std::string> ids;
  for (const ReceivedRequest& request : requests) {
    std::string id = EventIdOf(request);
    if (!id.empty()) ids.insert(std::move(id));
  }
  return ids;
}

void ClusterTest::SetUpTestSuite() {
  absl::StatusOr<std::unique_ptr<testing::PostgresServer>> pg =
      testing::PostgresServer::StartNew();
  ASSERT_TRUE(pg.ok()) << pg.status();
  postgres_ = pg->release();
}

void ClusterTest::TearDownTestSuite() {
  delete postgres_;
  postgres_ = nullptr;
}

void ClusterTest::StartNodes(int count, std::string_view delivery_fields,
                             std::string_view more_config) {
  ASSERT_NE(postgres_, nullptr);
  static int databases = 0;
  database_ = absl::StrCat("cluster", ++databases);
  ASSERT_OK_AND_ASSIGN(std::string dsn, postgres_->CreateDatabase(database_));
  StartNodesOn(std::move(dsn), count, delivery_fields, more_config);
}

void ClusterTest::StartNodesOn(std::string dsn, int count,
                               std::string_view delivery_fields,
                               std::string_view more_config) {
  dsn_ = std::move(dsn);
  if (receiver_ == nullptr) ASSERT_NO_FATAL_FAILURE(StartReceiver());
  const std::string config =
      absl::StrCat(DeliveryConfig(delivery_fields),
                   "\ncluster { lease_ttl_ms: 3000 heartbeat_ms: 500 }\n",
                   std::string(more_config));
  const size_t first = nodes_.size();
  std::vector<std::vector<std::string>> flags(count);
  for (int i = 0; i < count; ++i) {
    flags[i] = TlsFlags(certs());
    flags[i].push_back("--postgres_dsn=" + dsn_);
    flags[i].push_back(absl::StrCat("--node_id=node-", first + i));
  }
  // All at once: they race for the schema, the static records and leases.
  ASSERT_OK_AND_ASSIGN(std::vector<std::unique_ptr<ServerProcess>> started,
                       ServerProcess::StartAll(config, std::move(flags)));
  for (auto& node : started) {
    nodes_.push_back(std::move(node));
    admins_.emplace_back(nodes_.back()->NewChannel(), kAdminToken);
  }
}

Api ClusterTest::Publisher(int node) const {
  return admins_[node].WithToken(kPublisherToken);
}

bool ClusterTest::WaitMatched(int node, int64_t want) {
  return WaitMatched(node, want, NewEvent("probe"));
}

bool ClusterTest::WaitMatched(int node, int64_t want, const v1::Event& event) {
  const absl::Time deadline = absl::Now() + kFeedBound;
  while (absl::Now() < deadline) {
    absl::StatusOr<v1::MatchSubscriptionsResponse> matched =
        MatchEvent(Publisher(node), event);
    if (matched.ok()) {
      int64_t delivered = 0;
      for (const v1::SubscriptionMatch& m : matched->matches()) {
        if (m.verdict() == v1::SubscriptionMatch::DELIVERED) ++delivered;
      }
      if (delivered == want) return true;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

PublishingLoad::PublishingLoad(std::vector<Api> publishers, std::string prefix)
    : publishers_(std::move(publishers)), prefix_(std::move(prefix)) {
  thread_ = std::thread([this] { Run(); });
}

PublishingLoad::~PublishingLoad() { Stop(); }

void PublishingLoad::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void PublishingLoad::Run() {
  for (int n = 0;; ++n) {
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
    }
    const std::string id = absl::StrCat(prefix_, n);
    const absl::Status published =
        PublishEvents(publishers_[n % publishers_.size()], {NewEvent(id)})
            .status();
    absl::MutexLock lock(&mu_);
    if (published.ok()) {
      acknowledged_.insert(id);
    } else {
      ++failures_[published.code()];
    }
    if (!published.ok()) {
      // Do not spin while the database is away.
      mu_.AwaitWithTimeout(absl::Condition(&stop_), absl::Milliseconds(20));
    }
  }
}

bool PublishingLoad::WaitForMoreAcknowledged(int n,
                                             absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  const size_t want = acknowledged_.size() + n;
  auto enough = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return acknowledged_.size() >= want;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

std::set<std::string> PublishingLoad::acknowledged() const {
  absl::MutexLock lock(&mu_);
  return acknowledged_;
}

std::map<absl::StatusCode, int> PublishingLoad::failures() const {
  absl::MutexLock lock(&mu_);
  return failures_;
}

std::string FailureSummary(const std::map<absl::StatusCode, int>& failures) {
  return absl::StrJoin(failures, ", ", [](std::string* out, const auto& entry) {
    absl::StrAppend(out, absl::StatusCodeToString(entry.first), ": ",
                    entry.second);
  });
}

}  // namespace webhooks::e2e
