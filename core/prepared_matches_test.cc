#include "core/prepared_matches.h"

#include "gtest/gtest.h"

namespace webhooks::core {
namespace {

PreparedEvent Prepared(std::string id, uint64_t seq,
                       EventMatcher::State state = {1, 1}) {
  PreparedEvent event;
  event.id = std::move(id);
  event.seq = seq;
  event.state = state;
  event.recipients.push_back({"sub_1", "https://example.com/", "default"});
  return event;
}

std::vector<PreparedEvent> Events(std::initializer_list<PreparedEvent> list) {
  return std::vector<PreparedEvent>(list);
}

TEST(PreparedMatchesTest, TakesAllEventsOfATransactionInOrderOnce) {
  PreparedMatches matches(100);
  matches.Add("tx", 0, Events({Prepared("a", 0), Prepared("b", 1)}));
  matches.Add("tx", 2, Events({Prepared("c", 2)}));
  EXPECT_EQ(matches.events(), 3u);
  auto taken = matches.Take("tx", 3, {1, 1});
  ASSERT_TRUE(taken.has_value());
  ASSERT_EQ(taken->size(), 3u);
  EXPECT_EQ((*taken)[2].id, "c");
  EXPECT_EQ(matches.events(), 0u);
  EXPECT_FALSE(matches.Take("tx", 3, {1, 1}).has_value());
}

TEST(PreparedMatchesTest, RefusesWhenTheMatcherChangedOrEventsAreMissing) {
  PreparedMatches matches(100);
  matches.Add("changed", 0, Events({Prepared("a", 0)}));
  EXPECT_FALSE(matches.Take("changed", 1, {2, 1}).has_value());
  matches.Add("mixed", 0, Events({Prepared("a", 0)}));
  matches.Add("mixed", 1, Events({Prepared("b", 1, {1, 2})}));
  EXPECT_FALSE(matches.Take("mixed", 2, {1, 1}).has_value());
  // An earlier Prepare that is not here (say, before a restart).
  matches.Add("partial", 5, Events({Prepared("f", 5)}));
  EXPECT_FALSE(matches.Take("partial", 6, {1, 1}).has_value());
  matches.Add("count", 0, Events({Prepared("a", 0)}));
  EXPECT_FALSE(matches.Take("count", 2, {1, 1}).has_value());
  EXPECT_EQ(matches.events(), 0u);
}

TEST(PreparedMatchesTest, BoundedAndForgotten) {
  PreparedMatches matches(2);
  matches.Add("big", 0, Events({Prepared("a", 0), Prepared("b", 1),
                                Prepared("c", 2)}));
  EXPECT_EQ(matches.events(), 0u);
  matches.Add("tx", 0, Events({Prepared("a", 0), Prepared("b", 1)}));
  // No room for a third: the whole transaction goes, not just the new one.
  matches.Add("tx", 2, Events({Prepared("c", 2)}));
  EXPECT_EQ(matches.events(), 0u);
  EXPECT_FALSE(matches.Take("tx", 3, {1, 1}).has_value());
  matches.Add("gone", 0, Events({Prepared("a", 0)}));
  matches.Forget("gone");
  EXPECT_EQ(matches.events(), 0u);
  EXPECT_FALSE(matches.Take("gone", 1, {1, 1}).has_value());
}

}  // namespace
}  // namespace webhooks::core
