#include "common/random.h"

#include <set>

#include "gtest/gtest.h"

namespace webhooks {
namespace {

TEST(NewIdTest, HasPrefixAndFixedLength) {
  SeededRandom random(1);
  std::string id = NewId("sub_", 1700000000000, random);
  EXPECT_EQ(id.substr(0, 4), "sub_");
  EXPECT_EQ(id.size(), 4u + 26u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdefghjkmnpqrstvwxyz", 4),
            std::string::npos);
}

TEST(NewIdTest, LaterIdsSortLater) {
  SeededRandom random(7);
  std::string earlier = NewId("d_", 1700000000000, random);
  std::string later = NewId("d_", 1700000000001, random);
  EXPECT_LT(earlier, later);
}

TEST(NewIdTest, SameMillisecondIdsDiffer) {
  SecureRandom random;
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(NewId("x", 5, random));
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(NewIdTest, TimeFloorBoundsEveryIdOfLaterTimes) {
  SecureRandom random;
  const std::string floor = IdTimeFloor("dlv_", 1700000000500);
  EXPECT_LE(floor, NewId("dlv_", 1700000000500, random));
  EXPECT_LT(floor, NewId("dlv_", 1700000000501, random));
  EXPECT_GT(floor, NewId("dlv_", 1700000000499, random));
}

TEST(SeededRandomTest, IsDeterministic) {
  SeededRandom a(42), b(42), c(43);
  EXPECT_EQ(a.Bytes(33), b.Bytes(33));
  EXPECT_NE(SeededRandom(42).Bytes(16), c.Bytes(16));
}

}  // namespace
}  // namespace webhooks
