// Checks of what an ordered subscription's receiver got (ordered delivery
// end-to-end tests): requests name their event in the body's "id".
#ifndef WEBHOOKS_TESTS_ORDERED_CHECKS_H_
#define WEBHOOKS_TESTS_ORDERED_CHECKS_H_

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/strings.h"
#include "gtest/gtest.h"
#include "tests/delivery_fixture.h"
#include "tests/delivery_test_util.h"
#include "tests/https_receiver.h"

namespace webhooks::e2e {

// Checks commit order among `requests` for the events `ids` (in commit
// order; requests for other events are left out): every request for an
// event comes after every request for the one before it (its retries and a
// resend after a crash included), and each arrived.
inline void ExpectCommitOrder(const std::vector<ReceivedRequest>& requests,
                              const std::vector<std::string>& ids) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < ids.size(); ++i) index[ids[i]] = i;
  std::map<size_t, std::pair<size_t, size_t>> span;  // first, last arrival
  size_t n = 0;
  for (const ReceivedRequest& r : requests) {
    auto it = index.find(EventIdOf(r));
    if (it == index.end()) continue;
    auto [s, fresh] = span.try_emplace(it->second, n, n);
    if (!fresh) s->second.second = n;
    ++n;
  }
  ASSERT_EQ(span.size(), ids.size()) << "not every event arrived";
  for (size_t i = 1; i < ids.size(); ++i) {
    EXPECT_GT(span[i].first, span[i - 1].second)
        << ids[i] << " arrived before " << ids[i - 1] << " was done";
  }
}

inline std::vector<std::string> Ids(std::string_view prefix, int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back(StrCat(prefix, i));
  return ids;
}

// Waits until every one of `ids` has arrived at `path`.
inline bool WaitForAll(const HttpsReceiver& receiver, std::string_view path,
                const std::vector<std::string>& ids) {
  const absl::Time deadline = absl::Now() + kWait;
  while (absl::Now() < deadline) {
    std::set<std::string> seen;
    for (const ReceivedRequest& r : receiver.Requests(path)) {
      seen.insert(EventIdOf(r));
    }
    if (std::all_of(ids.begin(), ids.end(),
                    [&](const std::string& id) { return seen.count(id); })) {
      return true;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

}  // namespace webhooks::e2e

#endif  // WEBHOOKS_TESTS_ORDERED_CHECKS_H_
