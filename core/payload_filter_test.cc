#include "core/payload_filter.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhooks::core {
namespace {

using ::testing::HasSubstr;

// The payloads of the table: an order, with nested objects, arrays, numbers
// written as integers, decimals and strings, booleans and null.
constexpr std::string_view kOrder = R"({
  "type": "order.created",
  "amount": 250, "fee": 2.5, "big": 9007199254740993, "code": "100",
  "currency": "EUR", "paid": true, "note": null,
  "customer": {"id": "c_1", "tier": "gold", "address": {"country": "FR"}},
  "tags": ["vip", "new"],
  "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-7", "qty": 1}],
  "scores": [3, 8, 15]
})";
constexpr std::string_view kSmallOrder =
    R"({"type": "order.created", "amount": 5, "currency": "USD",
        "customer": {"id": "c_2"}, "tags": [], "items": []})";
constexpr std::string_view kArrayRoot = R"([{"sku": "A-1"}, {"sku": "C-3"}])";
constexpr std::string_view kScalarRoot = R"("just a string")";

struct Row {
  std::string_view filter;
  bool order;        // verdict on kOrder
  bool small_order;  // on kSmallOrder
  bool array_root;   // on kArrayRoot
};

// The table of events x filters: what passes.
const Row kTable[] = {
    // Equality, implicit and $eq; numbers by value, no coercion.
    {R"({"type": "order.created"})", true, true, false},
    {R"({"amount": 250})", true, false, false},
    {R"({"amount": 250.0})", true, false, false},
    {R"({"amount": {"$eq": 250}})", true, false, false},
    {R"({"amount": "250"})", false, false, false},  // string vs number
    {R"({"code": 100})", false, false, false},      // number vs string
    {R"({"code": "100"})", true, false, false},
    {R"({"fee": 2.5})", true, false, false},
    {R"({"paid": true})", true, false, false},
    {R"({"paid": 1})", false, false, false},
    {R"({"note": null})", true, false, false},  // missing is not null
    {R"({"big": 9007199254740993})", true, false, false},  // exact int64
    {R"({"big": 9007199254740992})", false, false, false},
    // $ne: passes when missing too.
    {R"({"currency": {"$ne": "EUR"}})", false, true, true},
    {R"({"paid": {"$ne": false}})", true, true, true},
    // Nested paths.
    {R"({"customer.tier": "gold"})", true, false, false},
    {R"({"customer.address.country": "FR"})", true, false, false},
    {R"({"customer.address.country": {"$in": ["DE", "NL"]}})", false, false,
     false},
    {R"({"customer.nope.deeper": 1})", false, false, false},
    // $in / $nin, including fields that hold arrays.
    {R"({"currency": {"$in": ["EUR", "GBP"]}})", true, false, false},
    {R"({"currency": {"$nin": ["EUR", "GBP"]}})", false, true, true},
    {R"({"amount": {"$in": [5, 250]}})", true, true, false},
    {R"({"amount": {"$in": ["5", "250"]}})", false, false, false},
    {R"({"tags": "vip"})", true, false, false},  // an element equals
    {R"({"tags": {"$in": ["new", "old"]}})", true, false, false},
    {R"({"tags": {"$nin": ["vip"]}})", false, true, true},
    {R"({"tags": {"$ne": "vip"}})", false, true, true},
    {R"({"tags.0": "vip"})", true, false, false},  // an index
    {R"({"tags.1": "vip"})", false, false, false},
    {R"({"items.sku": "B-7"})", true, false, false},  // into each element
    {R"({"items.1.qty": {"$gte": 1}})", true, false, false},
    {R"({"items.qty": {"$gt": 1}})", true, false, false},
    {R"({"sku": "C-3"})", false, false, true},  // an array at the root
    {R"({"0.sku": "A-1"})", false, false, true},
    // Numeric and string comparisons.
    {R"({"amount": {"$gte": 100}})", true, false, false},
    {R"({"amount": {"$gt": 250}})", false, false, false},
    {R"({"amount": {"$lte": 250, "$gt": 4}})", true, true, false},
    {R"({"amount": {"$lt": 10}})", false, true, false},
    {R"({"amount": {"$lt": 1e3}})", true, true, false},
    {R"({"fee": {"$gt": 2, "$lt": 3}})", true, false, false},
    {R"({"code": {"$gt": 50}})", false, false, false},  // a string
    {R"({"currency": {"$gte": "E", "$lt": "F"}})", true, false, false},
    {R"({"scores": {"$gt": 10}})", true, false, false},  // an element
    {R"({"scores": {"$gt": 20}})", false, false, false},
    // $exists ($exist: Convoy's spelling).
    {R"({"note": {"$exists": true}})", true, false, false},
    {R"({"fee": {"$exists": false}})", false, true, true},
    {R"({"customer.address": {"$exist": true}})", true, false, false},
    {R"({"tags": {"$exists": true}})", true, true, false},
    // and / or / not, and several keys (and-ed).
    {R"({"type": "order.created", "currency": "USD"})", false, true, false},
    {R"({"$and": [{"amount": {"$gt": 1}}, {"currency": "EUR"}]})", true, false,
     false},
    {R"({"$or": [{"currency": "USD"}, {"customer.tier": "gold"}]})", true,
     true, false},
    {R"({"$or": [{"currency": "GBP"}, {"amount": {"$gt": 1000}}]})", false,
     false, false},
    {R"({"$not": {"currency": "EUR"}})", false, true, true},
    {R"({"amount": {"$not": {"$gt": 100}}})", false, true, true},
    {R"({"$not": {"$or": [{"paid": true}, {"tags": "vip"}]}})", false, true,
     true},
    {R"({"$and": [{"$or": [{"a": 1}, {"amount": 5}]}, {"$not": {"x": 1}}]})",
     false, true, false},
    {R"({})", true, true, true},  // no condition
};

TEST(PayloadFilterTest, TableOfEventsAndFilters) {
  const Limits limits;
  JsonPayload order, small_order, array_root;
  ASSERT_TRUE(order.Parse(kOrder).ok());
  ASSERT_TRUE(small_order.Parse(kSmallOrder).ok());
  ASSERT_TRUE(array_root.Parse(kArrayRoot).ok());
  for (const Row& row : kTable) {
    SCOPED_TRACE(row.filter);
    absl::StatusOr<PayloadFilterPtr> filter =
        PayloadFilter::Compile("subscription.filter", row.filter, limits);
    ASSERT_TRUE(filter.ok()) << filter.status();
    EXPECT_EQ((*filter)->Passes(order), row.order);
    EXPECT_EQ((*filter)->Passes(small_order), row.small_order);
    EXPECT_EQ((*filter)->Passes(array_root), row.array_root);
    EXPECT_EQ((*filter)->WhyNot(order).empty(), row.order);
    EXPECT_EQ((*filter)->source(), row.filter);
  }
}

TEST(PayloadFilterTest, PayloadsThatAreNotObjectsOrNotJson) {
  const Limits limits;
  PayloadFilterPtr ne = *PayloadFilter::Compile(
      "f", R"({"a": {"$ne": 1}})", limits);
  PayloadFilterPtr empty = *PayloadFilter::Compile("f", "{}", limits);
  JsonPayload payload;
  ASSERT_TRUE(payload.Parse(kScalarRoot).ok());
  EXPECT_TRUE(ne->Passes(payload));  // no field "a" in a string
  ASSERT_TRUE(payload.Parse("").ok());  // an empty body is null
  EXPECT_TRUE(ne->Passes(payload));

  absl::Status bad = payload.Parse("{\"a\": ");
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.message()), HasSubstr("is not JSON"));
  EXPECT_FALSE(payload.ok());
  EXPECT_FALSE(ne->Passes(payload));  // not JSON passes no filter
  EXPECT_FALSE(empty->Passes(payload));
  EXPECT_EQ(ne->WhyNot(payload), "is not JSON");
  ASSERT_TRUE(payload.Parse("<xml/>").code() ==
              absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(payload.Parse(R"({"a": 2})").ok());  // reusable after an error
  EXPECT_TRUE(ne->Passes(payload));
}

TEST(PayloadFilterTest, WhyNotNamesTheFirstFailingCondition) {
  const Limits limits;
  JsonPayload payload;
  ASSERT_TRUE(payload.Parse(kOrder).ok());
  PayloadFilterPtr filter = *PayloadFilter::Compile(
      "f", R"({"type": "order.created", "amount": {"$gte": 1000}})", limits);
  EXPECT_EQ(filter->WhyNot(payload), R"(fails {"amount":{"$gte":1000}})");
  filter = *PayloadFilter::Compile(
      "f", R"({"$or": [{"a": 1}, {"b": 2}]})", limits);
  EXPECT_EQ(filter->WhyNot(payload), R"(fails {"$or":[{"a":1},{"b":2}]})");

  PayloadFilterPtr rejecting =
      PayloadFilter::Rejecting("{}", "subscription.filter: too long");
  EXPECT_FALSE(rejecting->Passes(payload));
  EXPECT_THAT(rejecting->WhyNot(payload), HasSubstr("no longer compiles"));
}

struct BadFilter {
  std::string_view filter;
  std::string_view message;  // the whole INVALID_ARGUMENT message
};

const BadFilter kBadFilters[] = {
    {R"({"a": )", "subscription.filter: not JSON: "},
    {R"([{"a": 1}])", "subscription.filter: wants an object, got an array"},
    {R"("a")", "subscription.filter: wants an object, got a string"},
    {R"({"$nor": []})",
     "subscription.filter.$nor: unknown operator \"$nor\" (one of $and, $or, "
     "$not, or a field path)"},
    {R"({"$or": []})", "subscription.filter.$or: wants a non-empty array of "
                       "filters"},
    {R"({"$or": {"a": 1}})",
     "subscription.filter.$or: wants a non-empty array of filters"},
    {R"({"$and": [{"a": 1}, {"b": {"$gte": true}}]})",
     "subscription.filter.$and[1][\"b\"].$gte: wants a number or a string, "
     "got a boolean"},
    {R"({"$or": [{"a": 1}, 5]})",
     "subscription.filter.$or[1]: wants an object, got a number"},
    {R"({"$not": [{"a": 1}]})",
     "subscription.filter.$not: wants an object, got an array"},
    {R"({"a..b": 1})",
     "subscription.filter[\"a..b\"]: a path has no empty segments (\"a.b\", "
     "not \"a..b\" or \".a\")"},
    {R"({"": 1})", "subscription.filter[\"\"]: a path has no empty segments "
                   "(\"a.b\", not \"a..b\" or \".a\")"},
    {R"({"a": [1, 2]})",
     "subscription.filter[\"a\"]: an array cannot be compared; use "
     "{\"$in\": [...]}"},
    {R"({"a": {}})",
     "subscription.filter[\"a\"]: wants a value or an operator"},
    {R"({"a": {"b": 1}})",
     "subscription.filter[\"a\"].b: wants an operator ($eq, $in, $gte, ...); "
     "objects cannot be compared"},
    {R"({"a": {"$regex": "x"}})",
     "subscription.filter[\"a\"].$regex: unknown operator \"$regex\" (one of "
     "$eq, $ne, $in, $nin, $lt, $lte, $gt, $gte, $exists, $not)"},
    {R"({"a": {"$in": []}})",
     "subscription.filter[\"a\"].$in: wants a non-empty array of strings, "
     "numbers, booleans or nulls"},
    {R"({"a": {"$nin": [1, {"x": 1}]}})",
     "subscription.filter[\"a\"].$nin[1]: wants a string, number, boolean or "
     "null, got an object"},
    {R"({"a": {"$eq": {"x": 1}}})",
     "subscription.filter[\"a\"].$eq: wants a string, number, boolean or "
     "null, got an object (objects and arrays cannot be compared)"},
    {R"({"a": {"$exists": 1}})",
     "subscription.filter[\"a\"].$exists: wants true or false, got a number"},
    {R"({"a": 1, "a": 2})", "subscription.filter: duplicate key \"a\""},
    {R"({"a": {"$gt": 1, "$gt": 2}})",
     "subscription.filter[\"a\"]: duplicate key \"$gt\""},
    {R"({"$or": [{"$or": [{"$or": [{"$or": [{"$or": [{"$or": [{"$or": [
          {"$or": [{"a": 1}]}]}]}]}]}]}]}]})",
     "subscription.filter.$or[0].$or[0].$or[0].$or[0].$or[0].$or[0].$or[0]."
     "$or[0]: nested deeper than 8 levels"},
};

TEST(PayloadFilterTest, BadFiltersAreRejectedNamingTheBadPart) {
  const Limits limits;
  for (const BadFilter& bad : kBadFilters) {
    SCOPED_TRACE(bad.filter);
    absl::StatusOr<PayloadFilterPtr> filter =
        PayloadFilter::Compile("subscription.filter", bad.filter, limits);
    ASSERT_FALSE(filter.ok());
    EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);
    if (bad.message.back() == ' ') {
      EXPECT_THAT(std::string(filter.status().message()),
                  HasSubstr(std::string(bad.message)));
    } else {
      EXPECT_EQ(std::string(filter.status().message()), bad.message);
    }
  }
}

TEST(PayloadFilterTest, SizeLimits) {
  Limits limits;
  limits.max_filter_bytes = 32;
  absl::StatusOr<PayloadFilterPtr> filter = PayloadFilter::Compile(
      "subscription.filter", R"({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})",
      limits);
  EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(filter.status().message()),
            "subscription.filter: longer than 32 bytes");

  limits = Limits();
  limits.max_filter_predicates = 2;
  filter = PayloadFilter::Compile(
      "subscription.filter", R"({"a": 1, "b": {"$gt": 1, "$lt": 5}})", limits);
  EXPECT_EQ(std::string(filter.status().message()),
            "subscription.filter[\"b\"].$lt: more than 2 conditions");

  limits = Limits();
  limits.max_filter_values = 3;
  filter = PayloadFilter::Compile("subscription.filter",
                                  R"({"a": {"$in": [1, 2, 3, 4]}})", limits);
  EXPECT_EQ(std::string(filter.status().message()),
            "subscription.filter[\"a\"].$in: more than 3 values in all");

  limits = Limits();
  limits.max_filter_depth = 2;
  EXPECT_TRUE(
      PayloadFilter::Compile("f", R"({"$not": {"a": 1}})", limits).ok());
  filter = PayloadFilter::Compile("f", R"({"$not": {"$not": {"a": 1}}})",
                                  limits);
  EXPECT_EQ(std::string(filter.status().message()),
            "f.$not.$not: nested deeper than 2 levels");
}

// The ordering key of ordered delivery: the value a filter's path names.
TEST(JsonPayloadTest, ValueAtFollowsFilterPaths) {
  JsonPayload payload;
  EXPECT_EQ(payload.ValueAt("customer.id"), std::nullopt);  // nothing parsed
  ASSERT_TRUE(payload.Parse(kOrder).ok());
  EXPECT_EQ(payload.ValueAt("customer.id"), "c_1");
  EXPECT_EQ(payload.ValueAt("customer.address.country"), "FR");
  EXPECT_EQ(payload.ValueAt("amount"), "250");
  EXPECT_EQ(payload.ValueAt("paid"), "true");
  EXPECT_EQ(payload.ValueAt("note"), "null");
  EXPECT_EQ(payload.ValueAt("items.1.sku"), "B-7");
  EXPECT_EQ(payload.ValueAt("items.sku"), "A-1");  // the first element's
  EXPECT_EQ(payload.ValueAt("customer.address"), R"({"country":"FR"})");
  EXPECT_EQ(payload.ValueAt("customer.missing"), std::nullopt);
  EXPECT_EQ(payload.ValueAt("tags.5"), std::nullopt);
}

}  // namespace
}  // namespace webhooks::core
