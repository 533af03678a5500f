// DialectService end to end: the built-in default, defaults filled on create,
// validation, updates, deletion rules and static dialects.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api_client.h"
#include "tests/matchers.h"
#include "tests/server_process.h"

namespace webhooks::e2e {
namespace {

using ::testing::_;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;
using Code = absl::StatusCode;

std::vector<std::string> Names(const v1::ListDialectsResponse& response) {
  std::vector<std::string> names;
  for (const v1::Dialect& d : response.dialects()) names.push_back(d.name());
  return names;
}

v1::Dialect Named(std::string name) {
  v1::Dialect d;
  d.set_name(std::move(name));
  return d;
}

class DialectE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(""); }

  void StartServer(const std::string& config) {
    ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start(config));
    api_ = std::make_unique<Api>(server_->NewChannel());
  }

  // All dialects, for before/after comparisons.
  v1::ListDialectsResponse Snapshot() {
    v1::ListDialectsRequest request;
    request.set_page_size(1000);
    absl::StatusOr<v1::ListDialectsResponse> response =
        api_->ListDialects(request);
    EXPECT_OK(response.status());
    return response.ok() ? *response : v1::ListDialectsResponse();
  }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Api> api_;
};

TEST_F(DialectE2eTest, DefaultIsBuiltInAndAlwaysListed) {
  ASSERT_OK_AND_ASSIGN(v1::Dialect d, api_->GetDialect("default"));
  EXPECT_EQ(d.name(), "default");
  EXPECT_TRUE(d.builtin());
  EXPECT_FALSE(d.static_());
  EXPECT_EQ(d.http_method(), "POST");
  EXPECT_EQ(d.content_type(), "application/json");
  EXPECT_EQ(d.representation(), "webhook-delivery");
  EXPECT_EQ(d.signing(), v1::Dialect::STANDARD_WEBHOOKS);
  EXPECT_EQ(d.envelope(), v1::Dialect::RAW);
  EXPECT_EQ(Names(Snapshot()), std::vector<std::string>{"default"});
}

TEST_F(DialectE2eTest, DefaultCannotBeChangedOrDeleted) {
  v1::ListDialectsResponse before = Snapshot();
  v1::Dialect change = Named("default");
  change.set_user_agent("other/1");
  EXPECT_THAT(api_->UpdateDialect(change, {"user_agent"}),
              StatusIs(Code::kFailedPrecondition, _));
  EXPECT_THAT(api_->DeleteDialect("default"),
              StatusIs(Code::kFailedPrecondition, _));
  EXPECT_THAT(api_->CreateDialect(Named("default")),
              StatusIs(Code::kAlreadyExists, _));
  EXPECT_THAT(Snapshot(), EqualsProto(before));
}

TEST_F(DialectE2eTest, CreateFillsDefaults) {
  ASSERT_OK_AND_ASSIGN(v1::Dialect d, api_->CreateDialect(Named("zapier")));
  EXPECT_EQ(d.name(), "zapier");
  EXPECT_EQ(d.representation(), "webhook-delivery");
  EXPECT_EQ(d.http_method(), "POST");
  EXPECT_EQ(d.content_type(), "application/json");
  EXPECT_EQ(d.user_agent(), "webhookd/1");
  EXPECT_EQ(d.signing(), v1::Dialect::STANDARD_WEBHOOKS);
  EXPECT_EQ(d.envelope(), v1::Dialect::RAW);
  EXPECT_FALSE(d.builtin());
  EXPECT_FALSE(d.static_());
  EXPECT_GT(d.create_time().seconds(), 1600000000);
  ASSERT_OK_AND_ASSIGN(v1::Dialect got, api_->GetDialect("zapier"));
  EXPECT_THAT(got, EqualsProto(d));
  EXPECT_THAT(Names(Snapshot()), UnorderedElementsAre("default", "zapier"));
}

TEST_F(DialectE2eTest, CreateKeepsGivenValues) {
  v1::Dialect want = Named("custom");
  want.set_representation("zapier-webhook-delivery");
  want.set_http_method("PUT");
  want.set_content_type("application/x-www-form-urlencoded");
  want.set_user_agent("custom/2");
  (*want.mutable_headers())["X-Api-Key"] = "k1";
  want.set_signing(v1::Dialect::NONE);
  want.set_envelope(v1::Dialect::STANDARD_WEBHOOKS_JSON);
  ASSERT_OK_AND_ASSIGN(v1::Dialect d, api_->CreateDialect(want));
  EXPECT_EQ(d.representation(), want.representation());
  EXPECT_EQ(d.http_method(), "PUT");
  EXPECT_EQ(d.content_type(), want.content_type());
  EXPECT_EQ(d.user_agent(), "custom/2");
  EXPECT_THAT(d.headers(), Contains(Pair("X-Api-Key", "k1")));
  EXPECT_EQ(d.headers_size(), 1);
  EXPECT_EQ(d.signing(), v1::Dialect::NONE);
  EXPECT_EQ(d.envelope(), v1::Dialect::STANDARD_WEBHOOKS_JSON);
  ASSERT_OK_AND_ASSIGN(v1::Dialect got, api_->GetDialect("custom"));
  EXPECT_THAT(got, EqualsProto(d));
  v1::Dialect patch = Named("p");
  patch.set_http_method("PATCH");
  EXPECT_OK(api_->CreateDialect(patch).status());
}

TEST_F(DialectE2eTest, DuplicateNameIsAlreadyExists) {
  ASSERT_OK(api_->CreateDialect(Named("zapier")).status());
  v1::ListDialectsResponse before = Snapshot();
  v1::Dialect again = Named("zapier");
  again.set_http_method("PUT");
  EXPECT_THAT(api_->CreateDialect(again), StatusIs(Code::kAlreadyExists, _));
  EXPECT_THAT(Snapshot(), EqualsProto(before));
}

TEST_F(DialectE2eTest, CreateRejectsInvalidDialectsAndStoresNothing) {
  ASSERT_OK(api_->CreateDialect(Named("existing")).status());
  v1::ListDialectsResponse before = Snapshot();
  auto header = [](std::string name) {
    return [name](v1::Dialect& d) { (*d.mutable_headers())[name] = "v"; };
  };
  const struct {
    std::string name;
    std::function<void(v1::Dialect&)> mutate;
    std::string field;
  } kCases[] = {
      {"GET", [](v1::Dialect& d) { d.set_http_method("GET"); },
       "dialect.http_method"},
      {"DELETE", [](v1::Dialect& d) { d.set_http_method("DELETE"); },
       "dialect.http_method"},
      {"webhook-signature header", header("webhook-signature"),
       "dialect.headers"},
      {"webhook-id header", header("webhook-id"), "dialect.headers"},
      {"Content-Type header", header("Content-Type"), "dialect.headers"},
      {"user-agent header", header("user-agent"), "dialect.headers"},
      {"Host header", header("Host"), "dialect.headers"},
      {"content-length header", header("content-length"), "dialect.headers"},
      {"header name with space", header("X Bad"), "dialect.headers"},
      {"header value with newline",
       [](v1::Dialect& d) { (*d.mutable_headers())["X-Ok"] = "a\r\nB: c"; },
       "dialect.headers"},
      {"empty name", [](v1::Dialect& d) { d.set_name(""); }, "dialect.name"},
      {"uppercase name", [](v1::Dialect& d) { d.set_name("Zapier"); },
       "dialect.name"},
      {"name with space", [](v1::Dialect& d) { d.set_name("a b"); },
       "dialect.name"},
      {"65-character name",
       [](v1::Dialect& d) { d.set_name(std::string(65, 'a')); },
       "dialect.name"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    v1::Dialect d = Named("fresh");
    c.mutate(d);
    EXPECT_THAT(api_->CreateDialect(d),
                StatusIs(Code::kInvalidArgument, HasSubstr(c.field)));
    EXPECT_THAT(Snapshot(), EqualsProto(before));
  }
  // A count limit: RESOURCE_EXHAUSTED, like every count limit (README).
  v1::Dialect many = Named("fresh");
  for (int i = 0; i < 33; ++i) {
    (*many.mutable_headers())["X-H" + std::to_string(i)] = "v";
  }
  EXPECT_THAT(api_->CreateDialect(many),
              StatusIs(Code::kResourceExhausted,
                       HasSubstr("dialect.headers: at most 32 headers")));
  EXPECT_THAT(Snapshot(), EqualsProto(before));
  EXPECT_OK(api_->CreateDialect(Named(std::string(64, 'a'))).status());
}

TEST_F(DialectE2eTest, UpdateChangesOnlyTheMaskedFields) {
  ASSERT_OK_AND_ASSIGN(v1::Dialect created, api_->CreateDialect(Named("z")));
  absl::SleepFor(absl::Milliseconds(5));
  v1::Dialect change = Named("z");
  change.set_user_agent("z/2");
  change.set_http_method("PUT");
  (*change.mutable_headers())["X-A"] = "1";
  ASSERT_OK_AND_ASSIGN(v1::Dialect updated,
                       api_->UpdateDialect(change, {"user_agent", "headers"}));
  v1::Dialect expected = created;
  expected.set_user_agent("z/2");
  (*expected.mutable_headers())["X-A"] = "1";
  *expected.mutable_update_time() = updated.update_time();
  EXPECT_THAT(updated, EqualsProto(expected));
  EXPECT_NE(updated.update_time().SerializeAsString(),
            created.update_time().SerializeAsString());
  ASSERT_OK_AND_ASSIGN(v1::Dialect got, api_->GetDialect("z"));
  EXPECT_THAT(got, EqualsProto(updated));
}

TEST_F(DialectE2eTest, UpdateRejectsBadRequestsAndChangesNothing) {
  ASSERT_OK(api_->CreateDialect(Named("z")).status());
  v1::ListDialectsResponse before = Snapshot();
  v1::Dialect get = Named("z");
  get.set_http_method("GET");
  v1::Dialect reserved = Named("z");
  (*reserved.mutable_headers())["webhook-signature"] = "forged";
  const struct {
    v1::Dialect dialect;
    std::vector<std::string> mask;
    Code code;
    std::string part;
  } kCases[] = {
      {Named("z"), {}, Code::kInvalidArgument, "update_mask"},
      {Named("z"), {"name"}, Code::kInvalidArgument, "update_mask"},
      {Named("z"), {"builtin"}, Code::kInvalidArgument, "update_mask"},
      {Named("z"), {"bogus"}, Code::kInvalidArgument, "update_mask"},
      {get, {"http_method"}, Code::kInvalidArgument, "dialect.http_method"},
      {reserved, {"headers"}, Code::kInvalidArgument, "dialect.headers"},
      {Named("nosuch"), {"user_agent"}, Code::kNotFound, ""},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.dialect.ShortDebugString() + " " +
                 testing::PrintToString(c.mask));
    EXPECT_THAT(api_->UpdateDialect(c.dialect, c.mask),
                StatusIs(c.code, HasSubstr(c.part)));
    EXPECT_THAT(Snapshot(), EqualsProto(before));
  }
}

TEST_F(DialectE2eTest, DialectsInUseCannotBeDeleted) {
  ASSERT_OK(api_->CreateDialect(Named("used")).status());
  v1::Subscription s = NewSubscription();
  s.set_dialect("used");
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub, api_->CreateSubscription(s));
  EXPECT_EQ(sub.dialect(), "used");
  EXPECT_THAT(api_->DeleteDialect("used"),
              StatusIs(Code::kFailedPrecondition, _));
  EXPECT_OK(api_->GetDialect("used").status());
  ASSERT_OK(api_->DeleteSubscription(sub.id()));
  EXPECT_OK(api_->DeleteDialect("used"));
  EXPECT_THAT(api_->GetDialect("used"), StatusIs(Code::kNotFound, _));
  EXPECT_THAT(api_->DeleteDialect("used"), StatusIs(Code::kNotFound, _));
  // And a subscription cannot name it any more.
  EXPECT_THAT(
      api_->CreateSubscription(s),
      StatusIs(Code::kFailedPrecondition, HasSubstr("subscription.dialect")));
}

TEST_F(DialectE2eTest, UsageFollowsUpdatesAndDeactivation) {
  ASSERT_OK(api_->CreateDialect(Named("used")).status());
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       api_->CreateSubscription(NewSubscription()));
  v1::Subscription change;
  change.set_id(sub.id());
  change.set_dialect("used");
  ASSERT_OK(api_->UpdateSubscription(change, {"dialect"}).status());
  EXPECT_THAT(api_->DeleteDialect("used"),
              StatusIs(Code::kFailedPrecondition, _));
  // An inactive subscription still uses it: activation must not break.
  ASSERT_OK(api_->DeactivateSubscription(sub.id()).status());
  EXPECT_THAT(api_->DeleteDialect("used"),
              StatusIs(Code::kFailedPrecondition, _));
  change.set_dialect("default");
  ASSERT_OK(api_->UpdateSubscription(change, {"dialect"}).status());
  EXPECT_OK(api_->DeleteDialect("used"));
}

TEST_F(DialectE2eTest, ListPagesThroughDialects) {
  for (const char* name : {"c", "a", "b", "d"}) {
    ASSERT_OK(api_->CreateDialect(Named(name)).status());
  }
  std::vector<std::string> names;
  v1::ListDialectsRequest request;
  request.set_page_size(2);
  for (int page = 0; page < 10; ++page) {
    ASSERT_OK_AND_ASSIGN(v1::ListDialectsResponse response,
                         api_->ListDialects(request));
    EXPECT_LE(response.dialects_size(), 2);
    for (const v1::Dialect& d : response.dialects()) names.push_back(d.name());
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_THAT(names, UnorderedElementsAre("a", "b", "c", "d", "default"));
  request.set_page_size(-1);
  request.clear_page_token();
  EXPECT_THAT(api_->ListDialects(request),
              StatusIs(Code::kInvalidArgument, HasSubstr("page_size")));
}

TEST_F(DialectE2eTest, UnusedDialectIsDeleted) {
  ASSERT_OK(api_->CreateDialect(Named("spare")).status());
  EXPECT_OK(api_->DeleteDialect("spare"));
  EXPECT_THAT(api_->GetDialect("spare"), StatusIs(Code::kNotFound, _));
  EXPECT_EQ(Names(Snapshot()), std::vector<std::string>{"default"});
  // The name is free again.
  EXPECT_OK(api_->CreateDialect(Named("spare")).status());
}

TEST_F(DialectE2eTest, GetUnknownOrInvalidName) {
  EXPECT_THAT(api_->GetDialect("nosuch"), StatusIs(Code::kNotFound, _));
  EXPECT_THAT(api_->GetDialect(""),
              StatusIs(Code::kInvalidArgument, HasSubstr("name")));
}

TEST_F(DialectE2eTest, StaticDialectsComeFromTheConfig) {
  StartServer(
      "dialects { name: \"zapier\" representation: "
      "\"zapier-webhook-delivery\" }");
  ASSERT_OK_AND_ASSIGN(v1::Dialect d, api_->GetDialect("zapier"));
  EXPECT_TRUE(d.static_());
  EXPECT_FALSE(d.builtin());
  EXPECT_EQ(d.representation(), "zapier-webhook-delivery");
  EXPECT_EQ(d.http_method(), "POST");
  EXPECT_THAT(Names(Snapshot()), UnorderedElementsAre("default", "zapier"));
  EXPECT_THAT(api_->DeleteDialect("zapier"),
              StatusIs(Code::kFailedPrecondition, _));
  EXPECT_OK(api_->GetDialect("zapier").status());
}

}  // namespace
}  // namespace webhooks::e2e
