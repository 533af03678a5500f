#include "core/dialect_catalog.h"

#include "core/registry_fixture.h"
#include "gmock/gmock.h"

namespace webhooks::core {
namespace {

using ::testing::HasSubstr;

class DialectCatalogTest : public RegistryFixture {
 protected:
  static DialectRecord Named(std::string name) {
    DialectRecord d;
    d.set_name(std::move(name));
    return d;
  }
};

TEST_F(DialectCatalogTest, BuiltinDefaultExists) {
  absl::StatusOr<DialectRecord> d = catalog_->Get("default");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->builtin());
  EXPECT_EQ(d->http_method(), "POST");
  EXPECT_EQ(d->content_type(), "application/json");
  EXPECT_EQ(d->representation(), "webhook-delivery");
  EXPECT_EQ(d->signing(), kSigningStandardWebhooks);
  EXPECT_EQ(d->envelope(), kEnvelopeRaw);
}

TEST_F(DialectCatalogTest, DefaultCannotBeChangedOrDeleted) {
  DialectRecord change = Named("default");
  change.set_http_method("PUT");
  EXPECT_EQ(catalog_->Update(change, {"http_method"}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(catalog_->Delete("default").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(catalog_->Create(Named("default")).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(DialectCatalogTest, CreateFillsDefaultsAndPersists) {
  DialectRecord draft = Named("zapier");
  draft.set_representation("zapier-webhook-delivery");
  draft.set_http_method("put");
  (*draft.mutable_headers())["X-Team"] = "ops";
  absl::StatusOr<DialectRecord> created = catalog_->Create(draft);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->http_method(), "PUT");
  EXPECT_EQ(created->content_type(), "application/json");
  EXPECT_EQ(created->user_agent(), "webhookd/1");
  EXPECT_FALSE(created->builtin());
  Reopen();
  absl::StatusOr<DialectRecord> again = catalog_->Get("zapier");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->SerializeAsString(), created->SerializeAsString());
}

struct BadDialect {
  std::string name;
  std::function<void(DialectRecord&)> mutate;
  std::string field;
};

class BadDialectTest : public DialectCatalogTest,
                       public ::testing::WithParamInterface<BadDialect> {};

TEST_P(BadDialectTest, IsRejectedNamingTheField) {
  DialectRecord draft = Named("custom");
  GetParam().mutate(draft);
  const int64_t writes = store_.write_count();
  absl::StatusOr<DialectRecord> created = catalog_->Create(draft);
  EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(created.status().message(), HasSubstr(GetParam().field));
  EXPECT_EQ(store_.write_count(), writes);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadDialectTest,
    ::testing::Values(
        BadDialect{"UppercaseName", [](DialectRecord& d) { d.set_name("Zap"); },
                   "dialect.name"},
        BadDialect{"GetMethod",
                   [](DialectRecord& d) { d.set_http_method("GET"); },
                   "dialect.http_method"},
        BadDialect{"ReservedHeader",
                   [](DialectRecord& d) {
                     (*d.mutable_headers())["Webhook-Signature"] = "x";
                   },
                   "dialect.headers"},
        BadDialect{"HeaderWithNewline",
                   [](DialectRecord& d) {
                     (*d.mutable_headers())["X-A"] = "a\r\nb";
                   },
                   "dialect.headers"},
        BadDialect{"BadRepresentation",
                   [](DialectRecord& d) { d.set_representation("a b"); },
                   "dialect.representation"},
        BadDialect{"UnknownSigning", [](DialectRecord& d) { d.set_signing(9); },
                   "dialect.signing"},
        BadDialect{"UnknownEnvelope",
                   [](DialectRecord& d) { d.set_envelope(7); },
                   "dialect.envelope"}),
    [](const auto& p) { return p.param.name; });

TEST_F(DialectCatalogTest, UpdateChangesOnlyMaskedFields) {
  DialectRecord draft = Named("custom");
  draft.set_user_agent("agent/1");
  ASSERT_TRUE(catalog_->Create(draft).ok());
  DialectRecord change = Named("custom");
  change.set_http_method("PATCH");
  change.set_user_agent("ignored/2");
  absl::StatusOr<DialectRecord> updated = catalog_->Update(change, {"http_method"});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->http_method(), "PATCH");
  EXPECT_EQ(updated->user_agent(), "agent/1");
  EXPECT_EQ(catalog_->Update(change, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(catalog_->Update(change, {"name"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(catalog_->Update(Named("nope"), {"http_method"}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(DialectCatalogTest, ListPagesByName) {
  for (std::string name : {"c", "a", "b", "d"}) {
    ASSERT_TRUE(catalog_->Create(Named(name)).ok());
  }
  absl::StatusOr<DialectPage> first = catalog_->List(3, "");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->dialects.size(), 3u);
  EXPECT_EQ(first->dialects[0].name(), "a");
  EXPECT_EQ(first->dialects[2].name(), "c");
  ASSERT_FALSE(first->next_page_token.empty());
  absl::StatusOr<DialectPage> second = catalog_->List(3, first->next_page_token);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->dialects.size(), 2u);
  EXPECT_EQ(second->dialects[0].name(), "d");
  EXPECT_EQ(second->dialects[1].name(), "default");
  EXPECT_TRUE(second->next_page_token.empty());
  EXPECT_EQ(catalog_->List(-1, "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(catalog_->List(3, "garbage").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(DialectCatalogTest, InUseDialectCannotBeDeleted) {
  ASSERT_TRUE(catalog_->Create(Named("custom")).ok());
  SubscriptionRecord draft = Draft();
  draft.set_dialect("custom");
  SubscriptionRecord sub = MustCreate(draft);
  absl::Status in_use = registry_->DeleteDialect("custom");
  EXPECT_EQ(in_use.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(in_use.message(), HasSubstr("1 subscription"));
  ASSERT_TRUE(registry_->Delete(sub.id(), Scope::All()).ok());
  EXPECT_TRUE(registry_->DeleteDialect("custom").ok());
  EXPECT_EQ(catalog_->Get("custom").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_->DeleteDialect("custom").code(),
            absl::StatusCode::kNotFound);
}

TEST_F(DialectCatalogTest, StaticSyncCreatesUpdatesAndRetires) {
  DialectRecord declared = Named("ops");
  declared.set_user_agent("ops/1");
  auto unused = [](std::string_view) -> size_t { return 0; };
  ASSERT_TRUE(catalog_->SyncStatic({declared}, unused).ok());
  absl::StatusOr<DialectRecord> ops = catalog_->Get("ops");
  ASSERT_TRUE(ops.ok());
  EXPECT_TRUE(ops->is_static());
  EXPECT_EQ(catalog_->Delete("ops").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(catalog_->Update(Named("ops"), {"user_agent"}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  declared.set_user_agent("ops/2");
  ASSERT_TRUE(catalog_->SyncStatic({declared}, unused).ok());
  EXPECT_EQ(catalog_->Get("ops")->user_agent(), "ops/2");
  // Gone from the file while used: kept as an ordinary dialect.
  ASSERT_TRUE(catalog_->SyncStatic({}, [](std::string_view) -> size_t {
                        return 2;
                      }).ok());
  ASSERT_TRUE(catalog_->Get("ops").ok());
  EXPECT_FALSE(catalog_->Get("ops")->is_static());
  // Declared again, then gone while unused: deleted.
  ASSERT_TRUE(catalog_->SyncStatic({declared}, unused).ok());
  ASSERT_TRUE(catalog_->SyncStatic({}, unused).ok());
  EXPECT_EQ(catalog_->Get("ops").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(catalog_->SyncStatic({Named("default")}, unused).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace webhooks::core
