#include "delivery/request_pool.h"

#include <set>
#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace webhooks::delivery {
namespace {

core::HttpRequest Request(const std::string& url, size_t body_bytes = 10) {
  core::HttpRequest request;
  request.url = url;
  request.body = std::string(body_bytes, 'b');
  request.headers.emplace_back("webhook-signature", "v1,abc");
  request.client_certificate_pem = "certificate";
  request.client_key_pem = "key";
  return request;
}

TEST(RequestPoolTest, KeepsUpToItsCapacityWithoutKeys) {
  RequestPool pool(2);
  EXPECT_EQ(pool.Take().url, "");  // nothing kept: a new one
  pool.Keep(Request("a"));
  pool.Keep(Request("b"));
  pool.Keep(Request("c"));  // full
  EXPECT_EQ(pool.kept(), 2u);
  core::HttpRequest taken = pool.Take();
  EXPECT_EQ(taken.url, "b");
  EXPECT_EQ(taken.headers.size(), 1u);
  EXPECT_EQ(taken.client_certificate_pem, "");
  EXPECT_EQ(taken.client_key_pem, "");
  EXPECT_EQ(pool.Take().url, "a");
  EXPECT_EQ(pool.Take().url, "");
}

TEST(RequestPoolTest, LargeRequestsAreNotKept) {
  RequestPool pool(4);
  pool.Keep(Request("large", RequestPool::kMaxBodyBytes + 1));
  core::HttpRequest many = Request("many");
  many.headers.resize(RequestPool::kMaxHeaders + 1);
  pool.Keep(std::move(many));
  EXPECT_EQ(pool.kept(), 0u);
  pool.Keep(Request("at the limit", RequestPool::kMaxBodyBytes));
  EXPECT_EQ(pool.kept(), 1u);
}

// Never the same request twice, nothing torn.
TEST(RequestPoolTest, OneThreadKeepsWhileAnotherTakes) {
  RequestPool pool(8);
  std::thread keeper([&] {
    for (int i = 0; i < 2000; ++i) pool.Keep(Request(std::to_string(i)));
  });
  std::set<std::string> taken;
  int twice = 0;
  auto take = [&] {
    core::HttpRequest request = pool.Take();
    if (request.url.empty()) return false;
    EXPECT_EQ(request.body, std::string(10, 'b'));
    twice += taken.insert(request.url).second ? 0 : 1;
    return true;
  };
  for (int i = 0; i < 2000; ++i) take();
  keeper.join();
  while (take()) {
  }
  EXPECT_EQ(twice, 0);
  EXPECT_EQ(pool.kept(), 0u);
  EXPECT_GE(taken.size(), 1u);  // at least the last ones kept
}

}  // namespace
}  // namespace webhooks::delivery
