// ListSubscriptions end to end: order, pagination, page tokens and filters.
#include <algorithm>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api_client.h"
#include "tests/matchers.h"
#include "tests/server_process.h"

namespace webhooks::e2e {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

std::vector<std::string> Ids(const std::vector<v1::Subscription>& subs) {
  std::vector<std::string> ids;
  for (const v1::Subscription& s : subs) ids.push_back(s.id());
  return ids;
}

std::vector<std::string> Sites(const std::vector<v1::Subscription>& subs) {
  std::vector<std::string> sites;
  for (const v1::Subscription& s : subs) sites.push_back(s.site());
  return sites;
}

// The documented order: (site, resource_type, event_type, id).
void SortLikeTheServer(std::vector<v1::Subscription>& subs) {
  std::sort(
      subs.begin(), subs.end(),
      [](const v1::Subscription& a, const v1::Subscription& b) {
        return std::tie(a.site(), a.resource_type(), a.event_type(), a.id()) <
               std::tie(b.site(), b.resource_type(), b.event_type(), b.id());
      });
}

v1::ListSubscriptionsRequest Query(std::string site, bool descendants,
                                   int page_size = 0) {
  v1::ListSubscriptionsRequest request;
  request.set_site(std::move(site));
  request.set_include_descendants(descendants);
  request.set_page_size(page_size);
  return request;
}

class SubscriptionListE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(""); }

  void StartServer(const std::string& config) {
    ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start(config));
    api_ = std::make_unique<Api>(server_->NewChannel());
  }

  // Creates `count` subscriptions spread over sites and types, in an order
  // unrelated to the listing order.
  std::vector<v1::Subscription> CreateMany(int count) {
    const char* kSites[] = {"/beta", "/alpha/x", "/", "/alpha"};
    const char* kTypes[] = {"user", "*", "group"};
    const char* kEvents[] = {"removed", "added"};
    std::vector<v1::Subscription> created;
    for (int i = 0; i < count; ++i) {
      v1::Subscription s =
          NewSubscription(kSites[i % 4], kTypes[(i / 4) % 3],
                          kEvents[(i / 3) % 2], "/h" + std::to_string(i));
      absl::StatusOr<v1::Subscription> sub = api_->CreateSubscription(s);
      EXPECT_OK(sub.status());
      if (!sub.ok()) break;
      sub->clear_secret();
      created.push_back(*sub);
    }
    return created;
  }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Api> api_;
};

TEST_F(SubscriptionListE2eTest, PagesThroughTwentyFiveInPagesOfTen) {
  std::vector<v1::Subscription> expected = CreateMany(25);
  ASSERT_THAT(expected, SizeIs(25));
  SortLikeTheServer(expected);

  std::vector<v1::Subscription> listed;
  std::vector<int> page_sizes;
  v1::ListSubscriptionsRequest request = Query("", false, 10);
  for (int page = 0; page < 10; ++page) {
    ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse response,
                         api_->ListSubscriptions(request));
    page_sizes.push_back(response.subscriptions_size());
    for (const v1::Subscription& s : response.subscriptions()) {
      EXPECT_EQ(s.secret(), "");
      listed.push_back(s);
    }
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_THAT(page_sizes, ElementsAreArray({10, 10, 5}));
  EXPECT_THAT(Ids(listed), ElementsAreArray(Ids(expected)));
  ASSERT_THAT(listed, SizeIs(expected.size()));
  for (size_t i = 0; i < listed.size(); ++i) {
    EXPECT_THAT(listed[i], EqualsProto(expected[i]));
  }
}

TEST_F(SubscriptionListE2eTest, ExactPageMultipleEndsWithEmptyToken) {
  std::vector<v1::Subscription> expected = CreateMany(20);
  SortLikeTheServer(expected);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> listed,
                       api_->ListAllSubscriptions(Query("", false, 10)));
  EXPECT_THAT(Ids(listed), ElementsAreArray(Ids(expected)));
  // Listing an empty result is one empty page.
  ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse none,
                       api_->ListSubscriptions(Query("/nowhere", true)));
  EXPECT_THAT(none.subscriptions(), IsEmpty());
  EXPECT_EQ(none.next_page_token(), "");
}

TEST_F(SubscriptionListE2eTest, DefaultPageSizeIsFifty) {
  std::vector<v1::Subscription> expected = CreateMany(55);
  SortLikeTheServer(expected);
  ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse first,
                       api_->ListSubscriptions(Query("", false, 0)));
  EXPECT_THAT(first.subscriptions(), SizeIs(50));
  ASSERT_THAT(first.next_page_token(), Not(IsEmpty()));
  v1::ListSubscriptionsRequest next = Query("", false, 0);
  next.set_page_token(first.next_page_token());
  ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse second,
                       api_->ListSubscriptions(next));
  EXPECT_THAT(second.subscriptions(), SizeIs(5));
  EXPECT_EQ(second.next_page_token(), "");
  // Above the maximum is clamped, not refused.
  ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse big,
                       api_->ListSubscriptions(Query("", false, 5000)));
  EXPECT_THAT(big.subscriptions(), SizeIs(55));
  EXPECT_EQ(big.next_page_token(), "");
}

TEST_F(SubscriptionListE2eTest, PageSizeIsClampedToTheConfiguredMaximum) {
  StartServer("limits { max_page_size: 7 }");
  std::vector<v1::Subscription> expected = CreateMany(10);
  SortLikeTheServer(expected);
  ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse first,
                       api_->ListSubscriptions(Query("", false, 1000)));
  EXPECT_THAT(first.subscriptions(), SizeIs(7));
  EXPECT_THAT(first.next_page_token(), Not(IsEmpty()));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> all,
                       api_->ListAllSubscriptions(Query("", false, 1000)));
  EXPECT_THAT(Ids(all), ElementsAreArray(Ids(expected)));
}

TEST_F(SubscriptionListE2eTest, NegativePageSizeIsInvalid) {
  CreateMany(2);
  EXPECT_THAT(api_->ListSubscriptions(Query("", false, -1)),
              StatusIs(kInvalid, HasSubstr("page_size")));
}

TEST_F(SubscriptionListE2eTest, PageTokenIsBoundToTheFilters) {
  CreateMany(12);
  v1::ListSubscriptionsRequest request = Query("/alpha", true, 2);
  ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse first,
                       api_->ListSubscriptions(request));
  ASSERT_THAT(first.next_page_token(), Not(IsEmpty()));
  request.set_page_token(first.next_page_token());
  EXPECT_OK(api_->ListSubscriptions(request).status());

  std::vector<v1::ListSubscriptionsRequest> changed(5, request);
  changed[0].set_site("/beta");
  changed[1].set_include_descendants(false);
  changed[2].set_owner("alice");
  changed[3].set_active_filter(v1::ListSubscriptionsRequest::INACTIVE_ONLY);
  changed[4].set_site("");
  for (const v1::ListSubscriptionsRequest& r : changed) {
    SCOPED_TRACE(r.ShortDebugString());
    EXPECT_THAT(api_->ListSubscriptions(r),
                StatusIs(kInvalid, HasSubstr("page_token")));
  }
  for (const std::string token : {"garbage", "AAAA", "%%%"}) {
    SCOPED_TRACE(token);
    request.set_page_token(token);
    EXPECT_THAT(api_->ListSubscriptions(request),
                StatusIs(kInvalid, HasSubstr("page_token")));
  }
}

TEST_F(SubscriptionListE2eTest, PagingIsStableUnderWrites) {
  std::vector<v1::Subscription> expected = CreateMany(10);
  SortLikeTheServer(expected);
  v1::ListSubscriptionsRequest request = Query("", false, 5);
  ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse first,
                       api_->ListSubscriptions(request));
  ASSERT_EQ(first.subscriptions_size(), 5);
  // Between pages: delete one not yet listed, add one that sorts last and
  // one that sorts first.
  ASSERT_OK(api_->DeleteSubscription(expected[7].id()));
  ASSERT_OK_AND_ASSIGN(v1::Subscription last,
                       api_->CreateSubscription(NewSubscription("/zzz")));
  ASSERT_OK(api_->CreateSubscription(NewSubscription("/", "*", "*")).status());
  request.set_page_token(first.next_page_token());
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> rest,
                       api_->ListAllSubscriptions(request));
  std::vector<std::string> want;
  for (int i = 5; i < 10; ++i) {
    if (i != 7) want.push_back(expected[i].id());
  }
  want.push_back(last.id());
  EXPECT_THAT(Ids(rest), ElementsAreArray(want))
      << "already listed or deleted entries repeated, or entries skipped";
}

TEST_F(SubscriptionListE2eTest, SiteFilterIsExactOrTheSubtree) {
  for (const char* site :
       {"/Other", "/NOAA/NWS/OUN", "/NOAAX", "/NOAA", "/", "/NOAA/NWS"}) {
    ASSERT_OK(api_->CreateSubscription(NewSubscription(site)).status());
  }
  const struct {
    std::string site;
    bool descendants;
    std::vector<std::string> sites;
  } kCases[] = {
      {"/NOAA", false, {"/NOAA"}},
      {"/NOAA", true, {"/NOAA", "/NOAA/NWS", "/NOAA/NWS/OUN"}},
      {"/NOAA/NWS", true, {"/NOAA/NWS", "/NOAA/NWS/OUN"}},
      {"/NOAA/NWS/OUN", true, {"/NOAA/NWS/OUN"}},
      {"/NOAAX", true, {"/NOAAX"}},
      {"/", false, {"/"}},
      {"/",
       true,
       {"/", "/NOAA", "/NOAA/NWS", "/NOAA/NWS/OUN", "/NOAAX", "/Other"}},
      {"",
       false,
       {"/", "/NOAA", "/NOAA/NWS", "/NOAA/NWS/OUN", "/NOAAX", "/Other"}},
      {"/NOA", true, {}},
      {"/Nowhere", false, {}},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.site + (c.descendants ? " with descendants" : ""));
    for (int page_size : {0, 1, 2}) {
      SCOPED_TRACE(page_size);
      ASSERT_OK_AND_ASSIGN(
          std::vector<v1::Subscription> listed,
          api_->ListAllSubscriptions(Query(c.site, c.descendants, page_size)));
      EXPECT_THAT(Sites(listed), ElementsAreArray(c.sites));
    }
  }
}

TEST_F(SubscriptionListE2eTest, InvalidSiteFilterIsRejected) {
  EXPECT_THAT(api_->ListSubscriptions(Query("relative/site", false)),
              StatusIs(kInvalid, HasSubstr("site")));
  EXPECT_THAT(api_->ListSubscriptions(Query("/a/../b", true)),
              StatusIs(kInvalid, HasSubstr("site")));
}

TEST_F(SubscriptionListE2eTest, OwnerAndActiveFilters) {
  struct Spec {
    std::string site, owner;
    bool active;
  };
  const Spec kSpecs[] = {
      {"/a", "alice", true}, {"/a/b", "alice", false}, {"/c", "alice", true},
      {"/a", "bob", true},   {"/a/b", "", false},      {"/a", "", true},
  };
  std::vector<v1::Subscription> subs;
  for (const Spec& spec : kSpecs) {
    v1::Subscription s = NewSubscription(spec.site);
    s.set_owner(spec.owner);
    ASSERT_OK_AND_ASSIGN(v1::Subscription sub, api_->CreateSubscription(s));
    if (!spec.active) {
      ASSERT_OK(api_->DeactivateSubscription(sub.id()).status());
    }
  }
  using Request = v1::ListSubscriptionsRequest;
  const struct {
    std::string owner;
    Request::ActiveFilter active;
    std::string site;
    size_t count;
  } kCases[] = {
      {"alice", Request::ACTIVE_FILTER_UNSPECIFIED, "", 3},
      {"bob", Request::ACTIVE_FILTER_UNSPECIFIED, "", 1},
      {"carol", Request::ACTIVE_FILTER_UNSPECIFIED, "", 0},
      {"", Request::ACTIVE_ONLY, "", 4},
      {"", Request::INACTIVE_ONLY, "", 2},
      {"alice", Request::ACTIVE_ONLY, "", 2},
      {"alice", Request::INACTIVE_ONLY, "", 1},
      {"alice", Request::ACTIVE_ONLY, "/a", 1},
      {"", Request::ACTIVE_FILTER_UNSPECIFIED, "/a", 5},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.owner + " " + Request::ActiveFilter_Name(c.active) + " " +
                 c.site);
    Request request = Query(c.site, !c.site.empty(), 1);
    request.set_owner(c.owner);
    request.set_active_filter(c.active);
    ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> listed,
                         api_->ListAllSubscriptions(request));
    EXPECT_THAT(listed, SizeIs(c.count));
    for (const v1::Subscription& s : listed) {
      if (!c.owner.empty()) {
        EXPECT_EQ(s.owner(), c.owner);
      }
      if (c.active == Request::ACTIVE_ONLY) {
        EXPECT_TRUE(s.active());
      }
      if (c.active == Request::INACTIVE_ONLY) {
        EXPECT_FALSE(s.active());
      }
    }
  }
}

}  // namespace
}  // namespace webhooks::e2e
