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

// The encoding is stored (ids are keys): these must never change.
TEST(NewIdTest, EncodingIsStable) {
  SeededRandom random(7);
  EXPECT_EQ(NewId("dlv_", 0, random), "dlv_0000000000tw6k4pf4w75p6736");
  EXPECT_EQ(NewId("dlv_", 1700000000123, random),
            "dlv_01hf7yat3v08nb3em082cedjs9");
  EXPECT_EQ(NewId("dlv_", (int64_t{1} << 48) - 1, random),
            "dlv_7zzzzzzzzzv8ghwtk67f9q64da");
}

TEST(NewIdTest, TimeIsReadBack) {
  SeededRandom random(7);
  for (int64_t t : {int64_t{0}, int64_t{1}, int64_t{1700000000123},
                    (int64_t{1} << 48) - 1}) {
    EXPECT_EQ(IdTimeMillis("dlv_", NewId("dlv_", t, random)), t) << t;
  }
  const std::string id = NewId("dlv_", 1700000000123, random);
  EXPECT_EQ(IdTimeMillis("sub_", id), std::nullopt);           // prefix
  EXPECT_EQ(IdTimeMillis("dlv_", id.substr(1)), std::nullopt);  // length
  EXPECT_EQ(IdTimeMillis("dlv_", id + "0"), std::nullopt);
  std::string bad = id;
  bad[6] = 'u';  // not in the alphabet
  EXPECT_EQ(IdTimeMillis("dlv_", bad), std::nullopt);
  bad = id;
  bad[4] = 'z';  // the two top bits must be zero
  EXPECT_EQ(IdTimeMillis("dlv_", bad), std::nullopt);
}

TEST(NewIdTest, TaggedIdsCarryTheirTagAndTime) {
  SeededRandom random(7);
  for (int64_t t : {int64_t{0}, int64_t{1700000000123},
                    (int64_t{1} << 48) - 1}) {
    for (uint16_t tag : {uint16_t{0}, uint16_t{1}, uint16_t{63},
                         uint16_t{0x8001}, uint16_t{0xffff}}) {
      const std::string id = NewTaggedId("dlv_", t, tag, random);
      EXPECT_EQ(id.size(), 4u + 26u);
      EXPECT_EQ(IdTimeMillis("dlv_", id), t) << id;
      EXPECT_EQ(IdTag("dlv_", id), tag) << id;
    }
  }
  // Later times still sort later, whatever the tags; one time and tag still
  // make different ids.
  EXPECT_LT(NewTaggedId("dlv_", 1700000000000, 0xffff, random),
            NewTaggedId("dlv_", 1700000000001, 0, random));
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    ids.insert(NewTaggedId("dlv_", 5, 9, random));
  }
  EXPECT_EQ(ids.size(), 1000u);
  // An untagged id has random bits there; a malformed one has none.
  EXPECT_TRUE(IdTag("dlv_", NewId("dlv_", 5, random)).has_value());
  EXPECT_EQ(IdTag("sub_", NewTaggedId("dlv_", 5, 9, random)), std::nullopt);
  EXPECT_EQ(IdTag("dlv_", "dlv_0000"), std::nullopt);
}

// The encoding is stored (ids are keys): this must never change.
TEST(NewIdTest, TaggedEncodingIsStable) {
  SeededRandom random(7);
  EXPECT_EQ(NewTaggedId("dlv_", 1700000000123, 42, random),
            "dlv_01hf7yat3v00nde39jb7je3jv3");
}

TEST(SeededRandomTest, IsDeterministic) {
  SeededRandom a(42), b(42), c(43);
  EXPECT_EQ(a.Bytes(33), b.Bytes(33));
  EXPECT_NE(SeededRandom(42).Bytes(16), c.Bytes(16));
}

}  // namespace
}  // namespace webhooks
