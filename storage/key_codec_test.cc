#include "storage/key_codec.h"

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhooks::storage {
namespace {

using std::string_literals::operator""s;
using std::string_view_literals::operator""sv;

bool HasPrefix(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

int Sign(int v) { return (v > 0) - (v < 0); }

template <typename T>
int Compare(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

TEST(KeyBuilderTest, ExactEncoding) {
  KeyBuilder builder;
  builder.AddString("a\0b"s).AddUint64(0x0102030405060708).AddString("");
  EXPECT_EQ(builder.key(),
            "a\0\xff"
            "b\0\x01"
            "\x01\x02\x03\x04\x05\x06\x07\x08"
            "\0\x01"s);
  KeyBuilder prefix;
  prefix.AddStringPrefix("x\0"s);
  EXPECT_EQ(prefix.key(), "x\0\xff"s);
}

TEST(KeyReaderTest, RoundTripsComponents) {
  const std::vector<std::string> strings = {"",          "\0"s, "\xff",
                                            "\0\xff\0"s, "abc", "\0\x01"s};
  const std::vector<uint64_t> numbers = {
      0, 1, 255, 256, uint64_t{1} << 63, std::numeric_limits<uint64_t>::max()};
  for (const std::string& s : strings) {
    for (uint64_t n : numbers) {
      KeyBuilder builder;
      builder.AddString(s).AddUint64(n).AddString(s + "x");
      std::string key = std::move(builder).Build();
      KeyReader reader(key);
      std::string s1, s2;
      uint64_t n1 = 0;
      ASSERT_TRUE(reader.ReadString(&s1));
      ASSERT_TRUE(reader.ReadUint64(&n1));
      EXPECT_FALSE(reader.done());
      ASSERT_TRUE(reader.ReadString(&s2));
      EXPECT_TRUE(reader.done());
      EXPECT_EQ(s1, s);
      EXPECT_EQ(n1, n);
      EXPECT_EQ(s2, s + "x");
    }
  }
}

TEST(KeyCodecTest, FirstStringComponentLength) {
  const std::vector<std::string> strings = {"",          "\0"s, "\xff",
                                            "\0\xff\0"s, "abc", "\0\x01"s};
  for (const std::string& s : strings) {
    KeyBuilder first;
    first.AddString(s);
    KeyBuilder key;
    key.AddString(s).AddUint64(1).AddString("rest");
    EXPECT_EQ(FirstStringComponentLength(key.key()), first.key().size())
        << ::testing::PrintToString(s);
    EXPECT_EQ(FirstStringComponentLength(first.key()), first.key().size());
    // Cut anywhere inside the first component: none complete.
    for (size_t cut = 0; cut < first.key().size(); ++cut) {
      EXPECT_EQ(FirstStringComponentLength(first.key().substr(0, cut)), 0u)
          << ::testing::PrintToString(s) << " cut at " << cut;
    }
  }
  EXPECT_EQ(FirstStringComponentLength("a\0\x02b\0\x01"s), 0u);  // malformed
}

TEST(KeyReaderTest, RejectsMalformedAndStaysFailed) {
  std::string out;
  uint64_t n = 0;
  EXPECT_FALSE(KeyReader("abc").ReadString(&out));       // no terminator
  EXPECT_FALSE(KeyReader("abc\0"sv).ReadString(&out));   // half terminator
  EXPECT_FALSE(KeyReader("a\0\x02"sv).ReadString(&out));  // bad escape
  EXPECT_FALSE(KeyReader("1234567").ReadUint64(&n));     // 7 bytes
  EXPECT_FALSE(KeyReader("").ReadUint64(&n));

  const std::string malformed =
      "a\0\x02"
      "b\0\x01"s;
  KeyReader reader(malformed);
  EXPECT_FALSE(reader.ReadString(&out));
  EXPECT_FALSE(reader.ReadString(&out));
  EXPECT_FALSE(reader.done());
}

// Random strings built from pieces that stress the escaping: zero bytes,
// 0xff bytes, 0x01 (the terminator's second byte), and shared prefixes.
std::string RandomString(std::mt19937_64& rng) {
  static const std::vector<std::string> kPieces = {
      "", "\0"s, "\xff", "\x01", "a", "ab", "\0\xff"s, "\xff\0"s, "b"};
  std::string s;
  int pieces = static_cast<int>(rng() % 4);
  for (int i = 0; i < pieces; ++i) s += kPieces[rng() % kPieces.size()];
  return s;
}

uint64_t RandomNumber(std::mt19937_64& rng) {
  static const std::vector<uint64_t> kNumbers = {
      0, 1, 255, 256, 65535, 65536, std::numeric_limits<uint64_t>::max()};
  return rng() % 2 ? kNumbers[rng() % kNumbers.size()] : rng();
}

using Tuple = std::tuple<std::string, uint64_t, std::string>;

std::string Encode(const Tuple& t) {
  KeyBuilder builder;
  builder.AddString(std::get<0>(t))
      .AddUint64(std::get<1>(t))
      .AddString(std::get<2>(t));
  return std::move(builder).Build();
}

TEST(KeyCodecPropertyTest, ByteOrderEqualsTupleOrder) {
  std::mt19937_64 rng(20240601);
  std::vector<Tuple> tuples;
  for (int i = 0; i < 400; ++i) {
    tuples.emplace_back(RandomString(rng), RandomNumber(rng),
                        RandomString(rng));
  }
  // Near-equal tuples, so that later components decide some comparisons.
  tuples.emplace_back("a", 5, "");
  tuples.emplace_back("a", 5, "\0"s);
  tuples.emplace_back("a\0"s, 0, "");
  tuples.emplace_back("", std::numeric_limits<uint64_t>::max(), "\xff");
  int decided_by_later_component = 0;
  for (const Tuple& a : tuples) {
    const std::string ka = Encode(a);
    for (const Tuple& b : tuples) {
      const std::string kb = Encode(b);
      ASSERT_EQ(Sign(ka.compare(kb)), Compare(a, b))
          << testing::PrintToString(a) << " vs " << testing::PrintToString(b);
      if (std::get<0>(a) == std::get<0>(b) && a != b) {
        ++decided_by_later_component;
      }
    }
  }
  EXPECT_GT(decided_by_later_component, 100);
}

TEST(KeyCodecPropertyTest, TuplePrefixIsBytePrefixAndStringPrefixMatches) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    Tuple t(RandomString(rng), RandomNumber(rng), RandomString(rng));
    const std::string key = Encode(t);
    KeyBuilder first;
    first.AddString(std::get<0>(t));
    EXPECT_TRUE(HasPrefix(key, first.key()));

    std::string p = RandomString(rng);
    KeyBuilder prefix;
    prefix.AddStringPrefix(p);
    EXPECT_EQ(HasPrefix(key, prefix.key()), HasPrefix(std::get<0>(t), p))
        << testing::PrintToString(std::get<0>(t)) << " prefix "
        << testing::PrintToString(p);
  }
}

TEST(SubscriptionSiteKeyTest, ExactEncodingAndRoundTrip) {
  EXPECT_EQ(keys::SubscriptionSite("/NOAA", "user", "added", "sub_1"),
            "/NOAA/\0\x01user\0\x01"
            "added\0\x01sub_1\0\x01"s);
  for (std::string site : {"/", "/NOAA", "/NOAA/NWS/OUN"}) {
    auto parsed = keys::ParseSubscriptionSite(
        keys::SubscriptionSite(site, "r\0t"s, "", "id"));
    ASSERT_TRUE(parsed.has_value()) << site;
    EXPECT_EQ(parsed->site, site);
    EXPECT_EQ(parsed->resource_type, "r\0t"s);
    EXPECT_EQ(parsed->event_type, "");
    EXPECT_EQ(parsed->subscription_id, "id");
  }
}

TEST(SubscriptionSiteKeyTest, SubtreePrefixCoversSiteAndDescendantsOnly) {
  auto key = [](std::string_view site) {
    return keys::SubscriptionSite(site, "user", "added", "s1");
  };
  const std::string noaa = keys::SiteSubtreePrefix("/NOAA");
  EXPECT_TRUE(HasPrefix(key("/NOAA"), noaa));
  EXPECT_TRUE(HasPrefix(key("/NOAA/NWS"), noaa));
  EXPECT_TRUE(HasPrefix(key("/NOAA/NWS/OUN"), noaa));
  EXPECT_FALSE(HasPrefix(key("/NOAAX"), noaa));
  EXPECT_FALSE(HasPrefix(key("/NOAAX/NWS"), noaa));
  EXPECT_FALSE(HasPrefix(key("/NOA"), noaa));
  EXPECT_FALSE(HasPrefix(key("/"), noaa));

  const std::string root = keys::SiteSubtreePrefix("/");
  EXPECT_EQ(root, "/");
  for (std::string site : {"/"s, "/NOAA"s, "/NOAAX/Y"s, "/a\0b"s}) {
    EXPECT_TRUE(HasPrefix(key(site), root)) << site;
  }
}

TEST(SubscriptionSiteKeyTest, ExactAndTypesPrefixes) {
  const std::string exact = keys::SiteExactPrefix("/NOAA");
  EXPECT_TRUE(HasPrefix(keys::SubscriptionSite("/NOAA", "a", "b", "c"), exact));
  EXPECT_FALSE(
      HasPrefix(keys::SubscriptionSite("/NOAA/NWS", "a", "b", "c"), exact));
  const std::string root = keys::SiteExactPrefix("/");
  EXPECT_TRUE(HasPrefix(keys::SubscriptionSite("/", "a", "b", "c"), root));
  EXPECT_FALSE(HasPrefix(keys::SubscriptionSite("/NOAA", "a", "b", "c"), root));

  const std::string types = keys::SiteTypesPrefix("/NOAA", "user", "added");
  EXPECT_TRUE(
      HasPrefix(keys::SubscriptionSite("/NOAA", "user", "added", "x"), types));
  EXPECT_FALSE(
      HasPrefix(keys::SubscriptionSite("/NOAA", "users", "added", "x"), types));
  EXPECT_FALSE(
      HasPrefix(keys::SubscriptionSite("/NOAA", "user", "added2", "x"), types));
  EXPECT_FALSE(HasPrefix(
      keys::SubscriptionSite("/NOAA/NWS", "user", "added", "x"), types));
}

TEST(SubscriptionSiteKeyTest, ParseRejectsMalformedKeys) {
  const std::string good = keys::SubscriptionSite("/NOAA", "r", "e", "id");
  ASSERT_TRUE(keys::ParseSubscriptionSite(good).has_value());
  EXPECT_FALSE(keys::ParseSubscriptionSite("").has_value());
  EXPECT_FALSE(keys::ParseSubscriptionSite(good.substr(0, good.size() - 1)));
  EXPECT_FALSE(keys::ParseSubscriptionSite(good + "x"));
  EXPECT_FALSE(
      keys::ParseSubscriptionSite(keys::SiteTypesPrefix("/a", "r", "e")));
  KeyBuilder no_slash;
  no_slash.AddString("/NOAA").AddString("r").AddString("e").AddString("id");
  EXPECT_FALSE(keys::ParseSubscriptionSite(no_slash.key()));
  KeyBuilder empty_site;
  empty_site.AddString("").AddString("r").AddString("e").AddString("id");
  EXPECT_FALSE(keys::ParseSubscriptionSite(empty_site.key()));
}

// Found by fuzz/key_codec_fuzzer (fuzz/corpus/key_codec_fuzzer/crash-site-
// double-slash): a site component "//" parsed as the root "/", whose key is
// a different one, so a damaged key read as another site's subscription.
// Only components that SubscriptionSite writes parse: "/" or "/x.../".
TEST(SubscriptionSiteKeyTest, ParseAcceptsOnlyComponentsItWrites) {
  for (const char* component : {"//", "/a//", "a/", "NOAA/"}) {
    KeyBuilder key;
    key.AddString(component).AddString("r").AddString("e").AddString("id");
    EXPECT_FALSE(keys::ParseSubscriptionSite(key.key())) << component;
  }
  for (const char* site : {"/", "/a", "/NOAA/NWS"}) {
    const std::string key = keys::SubscriptionSite(site, "r", "e", "id");
    auto parsed = keys::ParseSubscriptionSite(key);
    ASSERT_TRUE(parsed.has_value()) << site;
    EXPECT_EQ(parsed->site, site);
    EXPECT_EQ(keys::SubscriptionSite(parsed->site, "r", "e", "id"), key);
  }
}

TEST(SubscriptionOwnerKeyTest, PrefixAndParse) {
  const std::string prefix = keys::OwnerPrefix("alice");
  EXPECT_TRUE(HasPrefix(keys::SubscriptionOwner("alice", "s1"), prefix));
  EXPECT_FALSE(HasPrefix(keys::SubscriptionOwner("alice2", "s1"), prefix));
  EXPECT_FALSE(HasPrefix(keys::SubscriptionOwner("alic", "es1"), prefix));
  EXPECT_EQ(
      keys::ParseSubscriptionOwner(keys::SubscriptionOwner("a\0"s, "s\0"s)),
      std::optional<std::string>("s\0"s));
  EXPECT_EQ(keys::ParseSubscriptionOwner(keys::OwnerPrefix("alice")),
            std::nullopt);
  EXPECT_EQ(
      keys::ParseSubscriptionOwner(keys::SubscriptionOwner("a", "b") + "c"),
      std::nullopt);
}

TEST(TransactionKeysTest, EventsGroupByTransaction) {
  EXPECT_LT(keys::TransactionEvent("tx", "a"), keys::TransactionEvent("tx", "b"));
  EXPECT_TRUE(HasPrefix(keys::TransactionEvent("tx", "e1"),
                        keys::TransactionEventsPrefix("tx")));
  EXPECT_FALSE(HasPrefix(keys::TransactionEvent("tx1", "e1"),
                         keys::TransactionEventsPrefix("tx")));
}

// An unowned transaction keeps its bare id (as stored before owners); an
// owned one never equals it, and neither's events share a prefix.
TEST(TransactionKeysTest, OwnedKeysNeverMeetBareIds) {
  EXPECT_EQ(keys::Transaction("", "tx-1"), "tx-1");
  const std::string owned = keys::Transaction("a", "tx-1");
  EXPECT_NE(owned, "tx-1");
  EXPECT_NE(owned, keys::Transaction("b", "tx-1"));
  auto parsed = keys::ParseTransaction(owned);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->owner, "a");
  EXPECT_EQ(parsed->transaction_id, "tx-1");
  parsed = keys::ParseTransaction("tx-1");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->owner, "");
  EXPECT_EQ(parsed->transaction_id, "tx-1");
  EXPECT_FALSE(keys::ParseTransaction("").has_value());
  EXPECT_FALSE(keys::ParseTransaction(owned + "x").has_value());
  // The bare transaction "a" and owner "a"'s transaction "tx-1".
  const std::string bare_prefix = keys::TransactionEventsPrefix("a");
  EXPECT_FALSE(HasPrefix(keys::TransactionEvent(owned, "e1"), bare_prefix));
  EXPECT_FALSE(HasPrefix(keys::TransactionEvent("a", "e1"),
                         keys::TransactionEventsPrefix(owned)));
}

TEST(TransactionKeysTest, DeadlinesOrderByTimeThenIdAndParse) {
  EXPECT_LT(keys::TransactionDeadline(255, "z"),
            keys::TransactionDeadline(256, "a"));
  EXPECT_LT(keys::TransactionDeadline(7, "a"), keys::TransactionDeadline(7, "b"));
  auto parsed = keys::ParseTransactionDeadline(keys::TransactionDeadline(9, "tx"));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->deadline_micros, 9u);
  EXPECT_EQ(parsed->transaction_id, "tx");
  EXPECT_FALSE(keys::ParseTransactionDeadline("junk").has_value());
}

TEST(SequenceKeysTest, AttemptsOrderBySequenceWithinSubscription) {
  EXPECT_LT(keys::Attempt("s", 9), keys::Attempt("s", 1000));
  EXPECT_TRUE(HasPrefix(keys::Attempt("s", 0), keys::AttemptsPrefix("s")));
  EXPECT_FALSE(HasPrefix(keys::Attempt("s2", 0), keys::AttemptsPrefix("s")));
  const std::string key = keys::Attempt("s", 77);
  KeyReader reader(key);
  std::string id;
  uint64_t seq = 0;
  ASSERT_TRUE(reader.ReadString(&id) && reader.ReadUint64(&seq));
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(id, "s");
  EXPECT_EQ(seq, 77u);
}

TEST(QueueEntryKeyTest, OrdersByDueTimeThenId) {
  std::vector<std::string> ordered = {
      keys::QueueEntry(0, "z"),   keys::QueueEntry(5, "zzz"),
      keys::QueueEntry(6, ""),    keys::QueueEntry(6, "a"),
      keys::QueueEntry(6, "b"),   keys::QueueEntry(255, "a"),
      keys::QueueEntry(256, "a"), keys::QueueEntry(uint64_t{1} << 40, "a"),
  };
  for (size_t i = 1; i < ordered.size(); ++i) {
    EXPECT_LT(ordered[i - 1], ordered[i]) << i;
  }
}

TEST(QueueEntryKeyTest, ParseRoundTripAndRejects) {
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  auto parsed = keys::ParseQueueEntry(keys::QueueEntry(max, "d_\0x"s));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->due_micros, max);
  EXPECT_EQ(parsed->delivery_id, "d_\0x"s);

  const std::string good = keys::QueueEntry(42, "d1");
  EXPECT_FALSE(keys::ParseQueueEntry(good.substr(0, 7)).has_value());
  EXPECT_FALSE(keys::ParseQueueEntry(good.substr(0, 8)).has_value());
  EXPECT_FALSE(keys::ParseQueueEntry(good + "\0"s).has_value());
  EXPECT_FALSE(keys::ParseQueueEntry("").has_value());
}

}  // namespace
}  // namespace webhooks::storage
