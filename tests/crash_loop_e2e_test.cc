// The crash loop of issue 15 as a test: 20 cycles of kill -9 under steady
// publishing. Nothing acknowledged is lost, nothing aborted (or prepared and
// never committed) is delivered, and an event is delivered twice only across
// a kill. About 10 s; ctest label "slow" (README).
#include <atomic>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/delivery_fixture.h"
#include "tests/event_client.h"
#include "tests/matchers.h"

namespace webhooks::e2e {
namespace {

constexpr int kCycles = 20;

// The event id of a request whose body is {"id":"<id>"}.
std::string EventOf(const ReceivedRequest& request) {
  const size_t start = request.body.find(":\"");
  const size_t end = request.body.rfind('"');
  return start == std::string::npos || end <= start + 2
             ? request.body
             : request.body.substr(start + 2, end - start - 2);
}

// What the publisher knows of each event id.
struct Ledger {
  absl::Mutex mu;
  std::set<std::string> acknowledged ABSL_GUARDED_BY(mu);  // Publish OK
  std::set<std::string> aborted ABSL_GUARDED_BY(mu);       // Abort OK
  std::set<std::string> prepared ABSL_GUARDED_BY(mu);      // never committed
};

// Publishes through `api` until a call fails (the server was killed): every
// fifth event is prepared and aborted, every seventh prepared and left.
void PublishUntilFailure(const Api& api, int cycle, Ledger* ledger) {
  for (int i = 0;; ++i) {
    const std::string id = absl::StrCat("c", cycle, "-", i);
    if (i % 5 == 4 || i % 7 == 6) {
      const std::string tx = "tx-" + id;
      if (!PrepareEvents(api, tx, {NewEvent(id)}).ok()) return;
      if (i % 7 == 6) {
        absl::MutexLock lock(&ledger->mu);
        ledger->prepared.insert(id);
        continue;
      }
      if (!AbortTransaction(api, tx).ok()) return;
      absl::MutexLock lock(&ledger->mu);
      ledger->aborted.insert(id);
      continue;
    }
    if (!PublishEvents(api, {NewEvent(id)}).ok()) return;
    absl::MutexLock lock(&ledger->mu);
    ledger->acknowledged.insert(id);
  }
}

class CrashLoopTest : public DeliveryE2eTest {};

TEST_F(CrashLoopTest, TwentyKillsUnderSteadyPublishing) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(
      StartTlsServer("retry_schedule_seconds: [0, 1, 1, 1, 1, 1]"));
  ASSERT_OK(Subscribe(receiver_->Url("/hook")).status());
  Ledger ledger;
  std::mt19937 random(15);
  // received_before[k]: requests the receiver had when cycle k was killed.
  std::vector<size_t> received_before;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    const Api api(server_->NewChannel(), kPublisherToken);
    std::thread publisher([&api, cycle, &ledger] {
      PublishUntilFailure(api, cycle, &ledger);
    });
    absl::SleepFor(absl::Milliseconds(150 + random() % 350));
    ASSERT_OK(server_->Kill9());
    publisher.join();
    received_before.push_back(receiver_->Count("/hook"));
    ASSERT_OK(server_->Restart());
  }

  std::set<std::string> acknowledged, aborted, prepared;
  {
    absl::MutexLock lock(&ledger.mu);
    acknowledged = ledger.acknowledged;
    aborted = ledger.aborted;
    prepared = ledger.prepared;
  }
  ASSERT_GT(acknowledged.size(), static_cast<size_t>(kCycles));
  // Every acknowledged event arrives.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  std::set<std::string> received;
  while (absl::Now() < deadline) {
    received.clear();
    for (const ReceivedRequest& r : receiver_->Requests("/hook")) {
      received.insert(EventOf(r));
    }
    if (std::includes(received.begin(), received.end(), acknowledged.begin(),
                      acknowledged.end())) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  for (const std::string& id : acknowledged) {
    EXPECT_TRUE(received.contains(id)) << "acknowledged " << id << " lost";
  }
  for (const std::string& id : aborted) {
    EXPECT_FALSE(received.contains(id)) << "aborted " << id << " delivered";
  }
  for (const std::string& id : prepared) {
    EXPECT_FALSE(received.contains(id)) << "uncommitted " << id << " delivered";
  }
  // Duplicates only across a kill: never twice within one server's life.
  const std::vector<ReceivedRequest> requests = receiver_->Requests("/hook");
  std::map<std::string, std::set<int>> lives;
  int duplicates = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    int life = 0;
    while (life < kCycles && i >= received_before[life]) ++life;
    const bool fresh = lives[EventOf(requests[i])].insert(life).second;
    if (!fresh) {
      ++duplicates;
      ADD_FAILURE() << EventOf(requests[i]) << " delivered twice in life "
                    << life;
    }
  }
  EXPECT_EQ(duplicates, 0);
  std::cerr << "crash loop: " << acknowledged.size() << " acknowledged, "
            << aborted.size() << " aborted, " << prepared.size()
            << " left prepared, " << requests.size() << " requests received ("
            << requests.size() - received.size() << " re-sent after a kill)\n";
}

}  // namespace
}  // namespace webhooks::e2e
