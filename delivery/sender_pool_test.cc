// A CurlSender with several loop threads (sender_threads): requests routed
// by destination, caps shared out, connections reused, shutdown of all.
// Against TestHttpServers on 127.0.0.1.

#include "delivery/sender_pool.h"

#include <pthread.h>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "delivery/curl_sender.h"
#include "delivery/sender_test_util.h"
#include "delivery/test_http_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhooks::delivery {
namespace {

using Outcome = core::HttpResult::Outcome;
using testing::Answer;
using testing::MakeSender;
using testing::Post;
using testing::ReceivedRequest;
using testing::Results;
using testing::StartServers;
using testing::TestHttpServer;
using testing::TestOptions;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr absl::Duration kLong = absl::Seconds(60);

TEST(DestinationShardTest, EverySpellingOfOneDestinationGoesToOneShard) {
  for (size_t shards : {2u, 3u, 7u, 64u}) {
    const size_t shard = DestinationShard("https://example.com/a", shards);
    EXPECT_LT(shard, shards);
    for (const char* url :
         {"HTTPS://Example.COM/b?x=1", "https://example.com:443/",
          "https://EXAMPLE.com:443/c/d"}) {
      EXPECT_EQ(DestinationShard(url, shards), shard) << url;
    }
    EXPECT_EQ(DestinationShard("http://[2001:DB8::1]:8080/h", shards),
              DestinationShard("http://[2001:db8::1]:8080/", shards));
  }
}

TEST(DestinationShardTest, DestinationsSpreadOverTheShards) {
  std::set<size_t> used;
  for (int port = 8000; port < 8064; ++port) {
    used.insert(DestinationShard(
        "https://example.com:" + std::to_string(port) + "/", 4));
  }
  EXPECT_EQ(used, (std::set<size_t>{0, 1, 2, 3}));
  // Other ports and schemes are other destinations.
  std::set<size_t> hosts;
  for (int i = 0; i < 64; ++i) {
    hosts.insert(DestinationShard(
        "https://h" + std::to_string(i) + ".example.com/", 4));
  }
  EXPECT_EQ(hosts.size(), 4u);
}

TEST(DestinationShardTest, OneShardOrAnUnusableUrlIsShardZero) {
  EXPECT_EQ(DestinationShard("https://example.com/", 1), 0u);
  EXPECT_EQ(DestinationShard("not a url", 8), 0u);
  EXPECT_EQ(DestinationShard("ftp://example.com/", 8), 0u);
  EXPECT_EQ(DestinationShard("", 8), 0u);
}

TEST(SenderPoolOptionsTest, ThreadsAreChecked) {
  CurlSenderOptions options = TestOptions();
  options.sender_threads = 0;
  EXPECT_THAT(CurlSender::Create(options).status().message(),
              HasSubstr("sender_threads: must be from 1 to 64 (got 0)"));
  options.sender_threads = 65;
  EXPECT_THAT(CurlSender::Create(options).status().message(),
              HasSubstr("sender_threads: must be from 1 to 64 (got 65)"));
  options.sender_threads = 4;
  options.max_in_flight = 3;
  EXPECT_THAT(CurlSender::Create(options).status().message(),
              HasSubstr("sender_threads: must be at most max_in_flight (3)"));
  options.max_in_flight = 4;
  EXPECT_TRUE(CurlSender::Create(options).ok());
}

// Names of the threads callbacks ran on.
class ThreadNames {
 public:
  void Note() {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof(name));
    absl::MutexLock lock(&mu_);
    names_.insert(name);
  }
  std::set<std::string> names() {
    absl::MutexLock lock(&mu_);
    return names_;
  }

 private:
  absl::Mutex mu_;
  std::set<std::string> names_ ABSL_GUARDED_BY(mu_);
};

TEST(SenderPoolTest, DestinationsSpreadOverThreadsAndKeepTheirConnections) {
  constexpr int kDestinations = 8;
  constexpr int kRounds = 5;
  absl::Notification release;  // outlives the servers
  release.Notify();
  std::vector<std::unique_ptr<TestHttpServer>> servers =
      StartServers(kDestinations, release);
  CurlSenderOptions options = TestOptions();
  options.sender_threads = 4;
  auto sender = MakeSender(options);
  ASSERT_NE(sender, nullptr);
  ThreadNames threads;  // outlives the sender
  Results results;
  int id = 0;
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < kDestinations; ++i, ++id) {
      auto callback = results.Callback(id);
      sender->Send(Post(servers[i]->Url("/ok")),
                   [&threads, callback](core::HttpResult r) {
                     threads.Note();
                     callback(std::move(r));
                   });
    }
    ASSERT_TRUE(results.WaitFor(static_cast<size_t>(id)));
  }
  for (int i = 0; i < id; ++i) {
    EXPECT_EQ(results.Get(i).status_code, 200) << i << results.Get(i).error;
  }
  EXPECT_THAT(results.calls(), Each(Pair(::testing::_, 1)));
  // Each destination's requests, sent one round at a time, reuse one
  // connection: one thread sends all of them.
  for (const auto& server : servers) {
    EXPECT_EQ(server->connections(), 1);
    EXPECT_EQ(server->requests().size(), static_cast<size_t>(kRounds));
  }
  const std::set<std::string> names = threads.names();
  EXPECT_GE(names.size(), 2u);
  for (const std::string& name : names) {
    EXPECT_THAT(name, ::testing::StartsWith("curl-sender-"));
  }
  EXPECT_EQ(sender->InFlight(), 0);
}

class SenderPoolHeldTest : public testing::SenderServerTest {};

TEST_F(SenderPoolHeldTest, PerDestinationCapHoldsAcrossSpellings) {
  CurlSenderOptions options = TestOptions();
  options.sender_threads = 8;
  options.max_per_destination = 2;
  Results results;  // outlives the sender
  auto sender = MakeSender(options);
  ASSERT_NE(sender, nullptr);
  const std::string url = server_.Url("/held");
  const std::string upper = absl::StrReplaceAll(url, {{"http://", "HTTP://"}});
  for (int i = 0; i < 6; ++i) {
    sender->Send(Post(i % 2 == 0 ? url : upper + "?i=" + std::to_string(i)),
                 results.Callback(i));
  }
  ASSERT_TRUE(server_.WaitForRequests(2, kLong));
  EXPECT_EQ(sender->InFlight(), 2);
  release_.Notify();
  ASSERT_TRUE(results.WaitFor(6));
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(results.Get(i).status_code, 200) << i << results.Get(i).error;
  }
  EXPECT_LE(server_.max_concurrent(), 2);
  EXPECT_LE(server_.connections(), 2);
}

TEST_F(SenderPoolHeldTest, GlobalCapIsSharedOut) {
  std::vector<std::unique_ptr<TestHttpServer>> others =
      StartServers(1, release_);
  TestHttpServer& other = *others[0];
  CurlSenderOptions options = TestOptions();
  options.sender_threads = 2;
  options.max_in_flight = 2;  // one transfer per thread
  Results results;            // outlives the sender
  auto sender = MakeSender(options);
  ASSERT_NE(sender, nullptr);
  for (int i = 0; i < 4; ++i) {
    sender->Send(Post(server_.Url("/held")), results.Callback(i));
  }
  for (int i = 4; i < 8; ++i) {
    sender->Send(Post(other.Url("/held")), results.Callback(i));
  }
  // Whichever threads the two destinations went to, at most two transfers
  // run: one per thread, or one in all when both share a thread.
  ASSERT_TRUE(server_.WaitForRequests(1, kLong));
  if (DestinationShard(server_.Url("/"), 2) !=
      DestinationShard(other.Url("/"), 2)) {
    ASSERT_TRUE(other.WaitForRequests(1, kLong));
  }
  EXPECT_LE(sender->InFlight(), 2);
  EXPECT_LE(server_.max_concurrent() + other.max_concurrent(), 2);
  release_.Notify();
  ASSERT_TRUE(results.WaitFor(8));
  EXPECT_EQ(sender->InFlight(), 0);
}

TEST_F(SenderPoolHeldTest, ShutdownStopsEveryThreadOnce) {
  std::vector<std::unique_ptr<TestHttpServer>> others =
      StartServers(4, release_);
  CurlSenderOptions options = TestOptions();
  options.sender_threads = 4;
  Results results;  // outlives the sender
  auto sender = MakeSender(options);
  ASSERT_NE(sender, nullptr);
  for (int i = 0; i < 4; ++i) {
    sender->Send(Post(others[i]->Url("/held")), results.Callback(i));
  }
  for (const auto& other : others) {
    ASSERT_TRUE(other->WaitForRequests(1, kLong));
  }
  EXPECT_EQ(sender->InFlight(), 4);
  sender->Shutdown(absl::ZeroDuration());
  EXPECT_EQ(sender->InFlight(), 0);
  ASSERT_TRUE(results.WaitFor(4));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(results.Get(i).outcome, Outcome::kRejected);
    EXPECT_EQ(results.Get(i).error, "shutting down");
  }
  // Later sends complete at once, on the caller's thread.
  sender->Send(Post(server_.Url("/x")), results.Callback(4));
  ASSERT_TRUE(results.WaitFor(5));
  EXPECT_EQ(results.Get(4).error, "shutting down");
  EXPECT_FALSE(results.all_off_test_thread());
  sender->Shutdown(absl::ZeroDuration());  // idempotent
  EXPECT_THAT(results.calls(), Each(Pair(::testing::_, 1)));
  release_.Notify();
  for (const auto& other : others) other->Stop();
}

TEST_F(SenderPoolHeldTest, ShutdownFromACallbackOnlyStartsIt) {
  CurlSenderOptions options = TestOptions();
  options.sender_threads = 4;
  Results results;  // outlives the sender
  auto sender = MakeSender(options);
  ASSERT_NE(sender, nullptr);
  sender->Send(Post(server_.Url("/held")), results.Callback(0));
  ASSERT_TRUE(server_.WaitForRequests(1, kLong));
  CurlSender* raw = sender.get();
  absl::Notification stopped;
  sender->Send(Post(server_.Url("/ok")),
               [raw, &stopped, callback = results.Callback(1)](
                   core::HttpResult r) {
                 raw->Shutdown(kLong);  // must not wait for its own loop
                 callback(std::move(r));
                 stopped.Notify();
               });
  ASSERT_TRUE(stopped.WaitForNotificationWithTimeout(kLong));
  EXPECT_EQ(results.Get(1).status_code, 200);
  // The held transfer is still in its grace; it finishes when answered.
  release_.Notify();
  ASSERT_TRUE(results.WaitFor(2));
  EXPECT_EQ(results.Get(0).status_code, 200);
  sender->Shutdown(kLong);
}

}  // namespace
}  // namespace webhooks::delivery
