#include "core/subscription_registry.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "core/conflict_retry.h"
#include "core/errors.h"
#include "core/page_token.h"
#include "core/client_certificate.h"
#include "core/delivery_control.h"
#include "core/payload_filter.h"
#include "core/signing_secret.h"
#include "core/site_path.h"
#include "core/target_url.h"
#include "core/validation.h"
#include "storage/key_codec.h"

namespace webhooks::core {
namespace {

using storage::Column;

constexpr std::string_view kDeactivatedByApi = "Deactivated through the API.";
// Keys read from an index column per storage scan while listing.
constexpr int kListChunk = 256;

const std::set<std::string, std::less<>>& UpdatablePaths() {
  static const auto* paths = new std::set<std::string, std::less<>>{
      "site", "resource_type", "event_type", "target_url",
      "owner", "permission", "dialect", "filter", "bypass_proxy",
      "client_certificate", "delivery"};
  return *paths;
}

IndexEntry ToIndexEntry(const SubscriptionRecord& r) {
  return IndexEntry{r.id(),    r.site(),       r.resource_type(),
                    r.event_type(), r.owner(), r.permission(),
                    r.target_url(), r.dialect(), r.active(), nullptr};
}

// The record's filter compiled: the index's own when its text is unchanged
// (most replacements change other fields), a fresh one otherwise. A stored
// filter that no longer compiles (limits lowered since) passes nothing.
PayloadFilterPtr CompiledFilter(const SubscriptionIndex& index,
                                const SubscriptionRecord& r,
                                const Limits& limits) {
  if (r.filter().empty()) return nullptr;
  if (std::optional<IndexEntry> current = index.Find(r.id());
      current.has_value() && current->filter != nullptr &&
      current->filter->source() == r.filter()) {
    return current->filter;
  }
  absl::StatusOr<PayloadFilterPtr> compiled =
      PayloadFilter::Compile("subscription.filter", r.filter(), limits);
  if (compiled.ok()) return *std::move(compiled);
  return PayloadFilter::Rejecting(r.filter(),
                                  std::string(compiled.status().message()));
}

constexpr std::string_view kClientCertificateField =
    "subscription.client_certificate";

// A certificate being set (create, or an update naming it) must also not
// have expired; one stored earlier that expires since is kept, and its
// deliveries fail the TLS handshake with the receiver's reason.
absl::Status CheckNewCertificate(const SubscriptionRecord& r, absl::Time now) {
  return CheckNewClientCertificate(kClientCertificateField,
                                   r.client_certificate_pem(),
                                   r.client_key_pem(), now);
}

bool Parse(std::string_view bytes, SubscriptionRecord& record) {
  return record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

bool PassesActiveFilter(const SubscriptionRecord& r, ListQuery::Active a) {
  switch (a) {
    case ListQuery::Active::kAny:
      return true;
    case ListQuery::Active::kActiveOnly:
      return r.active();
    case ListQuery::Active::kInactiveOnly:
      return !r.active();
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SubscriptionRegistry>>
SubscriptionRegistry::Open(storage::Store* store, DialectCatalog* dialects,
                           PrincipalDirectory* principals, const Clock* clock,
                           RandomSource* random,
                           const RegistryOptions& options) {
  std::unique_ptr<SubscriptionRegistry> registry(new SubscriptionRegistry(
      store, dialects, principals, clock, random, options));
  absl::MutexLock lock(&registry->mu_);
  absl::Status parse_error;
  RETURN_IF_ERROR(store->Scan(
      Column::kSubscriptions, "", "",
      [&](std::string_view key, std::string_view value) {
        SubscriptionRecord record;
        if (!Parse(value, record)) {
          parse_error = absl::DataLossError(
              StrCat("stored subscription \"", key, "\" is corrupt"));
          return false;
        }
        registry->ApplyReplace(nullptr, &record);
        return true;
      }));
  RETURN_IF_ERROR(parse_error);
  return registry;
}

absl::Status SubscriptionRegistry::Normalize(SubscriptionRecord& r) const {
  const Limits& limits = options_.limits;
  ASSIGN_OR_RETURN(std::string site,
                   NormalizeSite("subscription.site", r.site(), limits));
  r.set_site(std::move(site));
  RETURN_IF_ERROR(ValidateTypeToken("subscription.resource_type",
                                    r.resource_type(), true, limits));
  RETURN_IF_ERROR(ValidateTypeToken("subscription.event_type", r.event_type(),
                                    true, limits));
  ASSIGN_OR_RETURN(
      TargetUrl url,
      ParseTargetUrl("subscription.target_url", r.target_url(),
                     TargetUrlOptions{options_.allow_http_targets,
                                      limits.max_url_length}));
  r.set_target_url(std::move(url.normalized));
  if (!r.owner().empty()) {
    RETURN_IF_ERROR(ValidatePrincipalId("subscription.owner", r.owner(), limits));
  }
  if (r.permission().empty()) r.set_permission(std::string(kDefaultPermission));
  RETURN_IF_ERROR(
      ValidatePermission("subscription.permission", r.permission(), limits));
  if (r.dialect().empty()) r.set_dialect(std::string(kDefaultDialect));
  RETURN_IF_ERROR(ValidateDialectName("subscription.dialect", r.dialect()));
  if (!dialects_->Exists(r.dialect())) {
    return error::DialectMissing("subscription.dialect", r.dialect());
  }
  if (!r.filter().empty()) {
    RETURN_IF_ERROR(
        PayloadFilter::Compile("subscription.filter", r.filter(), limits)
            .status());
  }
  if (!r.client_certificate_pem().empty() || !r.client_key_pem().empty()) {
    RETURN_IF_ERROR(CheckClientCertificate(kClientCertificateField,
                                           r.client_certificate_pem(),
                                           r.client_key_pem())
                        .status());
  }
  return ValidateDeliveryControl("subscription.delivery", r.delivery(), limits);
}

absl::StatusOr<std::optional<SubscriptionRecord>> SubscriptionRegistry::Load(
    std::string_view id) const {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_->Get(Column::kSubscriptions, id));
  if (!bytes.has_value()) return std::nullopt;
  SubscriptionRecord record;
  if (!Parse(*bytes, record)) {
    return absl::DataLossError(
        StrCat("stored subscription \"", id, "\" is corrupt"));
  }
  return record;
}

absl::StatusOr<SubscriptionRecord> SubscriptionRegistry::LoadVisible(
    std::string_view id, const Scope& scope) const {
  RETURN_IF_ERROR(ValidateResourceId("id", id));
  ASSIGN_OR_RETURN(std::optional<SubscriptionRecord> record, Load(id));
  if (!record.has_value() || !scope.Allows(*record)) {
    return error::SubscriptionNotFound(id);
  }
  return *std::move(record);
}

void SubscriptionRegistry::StageReplace(const SubscriptionRecord* before,
                                        const SubscriptionRecord* after,
                                        storage::WriteBatch& batch) {
  // The record must still be what the caller read (another node may have
  // changed it since): otherwise the write is ABORTED and the caller
  // retries (RetryOnConflict).
  if (before != nullptr) {
    thread_local std::string expected;
    before->SerializeToString(&expected);
    batch.Expect(Column::kSubscriptions, before->id(), expected);
  } else if (after != nullptr) {
    batch.Expect(Column::kSubscriptions, after->id(), std::nullopt);
  }
  if (before != nullptr) {
    batch.Delete(Column::kSubscriptionsBySite,
                 storage::keys::SubscriptionSite(
                     before->site(), before->resource_type(),
                     before->event_type(), before->id()));
    if (!before->owner().empty()) {
      batch.Delete(Column::kSubscriptionsByOwner,
                   storage::keys::SubscriptionOwner(before->owner(),
                                                    before->id()));
    }
    if (after == nullptr) batch.Delete(Column::kSubscriptions, before->id());
  }
  if (after != nullptr) {
    batch.Put(Column::kSubscriptions, after->id(), after->SerializeAsString());
    batch.Put(Column::kSubscriptionsBySite,
              storage::keys::SubscriptionSite(after->site(),
                                              after->resource_type(),
                                              after->event_type(), after->id()),
              "");
    if (!after->owner().empty()) {
      batch.Put(Column::kSubscriptionsByOwner,
                storage::keys::SubscriptionOwner(after->owner(), after->id()),
                "");
    }
  }
}

void SubscriptionRegistry::ApplyReplace(const SubscriptionRecord* before,
                                        const SubscriptionRecord* after) {
  if (before != nullptr) {
    if (--dialect_users_[before->dialect()] == 0) {
      dialect_users_.erase(before->dialect());
    }
    if (!before->owner().empty() && --owned_[before->owner()] == 0) {
      owned_.erase(before->owner());
    }
    if (before->is_static()) static_ids_.erase(before->id());
    if (before->consecutive_failures() > 0) failing_.erase(before->id());
    if (after == nullptr) {
      index_.Remove(before->id());
      ordering_.Set(before->id(), false, "");
    }
  }
  if (after != nullptr) {
    if (after->consecutive_failures() > 0) failing_.insert(after->id());
    ++dialect_users_[after->dialect()];
    if (!after->owner().empty()) ++owned_[after->owner()];
    if (after->is_static()) static_ids_.insert(after->id());
    IndexEntry entry = ToIndexEntry(*after);
    entry.filter = CompiledFilter(index_, *after, options_.limits);
    index_.Upsert(entry);
    ordering_.Set(after->id(), after->delivery().ordered(),
                  after->delivery().order_key_path());
  }
}

void SubscriptionRegistry::Mirror(std::string_view id,
                                  const SubscriptionRecord* after) {
  // What memory holds of `id` now, which is not always the stored record a
  // writer replaced: in a cluster, another node's change may not have been
  // mirrored yet.
  std::optional<SubscriptionRecord> before;
  if (std::optional<IndexEntry> entry = index_.Find(id)) {
    before.emplace();
    before->set_id(entry->id);
    before->set_owner(entry->owner);
    before->set_dialect(entry->dialect);
    before->set_is_static(static_ids_.contains(AsAbsl(id)));
    if (failing_.contains(AsAbsl(id))) before->set_consecutive_failures(1);
  }
  ApplyReplace(before.has_value() ? &*before : nullptr, after);
}

absl::Status SubscriptionRegistry::Replace(const SubscriptionRecord* before,
                                           const SubscriptionRecord* after) {
  storage::WriteBatch batch;
  StageReplace(before, after, batch);
  RETURN_IF_ERROR(store_->Write(batch));
  const SubscriptionRecord* any = before != nullptr ? before : after;
  Mirror(any->id(), after);
  return absl::OkStatus();
}

absl::Status SubscriptionRegistry::CheckOwnerQuota(
    std::string_view owner) const {
  if (owner.empty()) return absl::OkStatus();
  auto it = owned_.find(AsAbsl(owner));
  const size_t limit =
      static_cast<size_t>(options_.limits.max_subscriptions_per_owner);
  if (it != owned_.end() && it->second >= limit) {
    return error::LimitExceeded(
        "subscription.owner", limit,
        StrCat("subscriptions per owner (\"", owner, "\" has ", it->second, ")"));
  }
  return absl::OkStatus();
}

absl::Status SubscriptionRegistry::Refresh(std::string_view id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(std::optional<SubscriptionRecord> stored, Load(id));
  Mirror(id, stored.has_value() ? &*stored : nullptr);
  return absl::OkStatus();
}

absl::Status SubscriptionRegistry::Reload() {
  absl::MutexLock lock(&mu_);
  std::vector<SubscriptionRecord> stored;
  absl::Status parse_error;
  RETURN_IF_ERROR(store_->Scan(
      Column::kSubscriptions, "", "",
      [&](std::string_view key, std::string_view value) {
        stored.emplace_back();
        if (!Parse(value, stored.back())) {
          parse_error = absl::DataLossError(
              StrCat("stored subscription \"", key, "\" is corrupt"));
          return false;
        }
        return true;
      }));
  RETURN_IF_ERROR(parse_error);
  // Upserts replace in place, so matching never sees a missing subscription
  // that is still stored; those no longer stored are removed after.
  absl::flat_hash_set<std::string> ids;
  for (const SubscriptionRecord& record : stored) {
    ids.insert(record.id());
    Mirror(record.id(), &record);
  }
  std::vector<std::string> gone;
  index_.ForEachId([&](std::string_view id) {
    if (!ids.contains(AsAbsl(id))) gone.emplace_back(id);
  });
  for (const std::string& id : gone) Mirror(id, nullptr);
  return absl::OkStatus();
}

absl::StatusOr<SubscriptionRecord> SubscriptionRegistry::Create(
    const SubscriptionRecord& draft, const Scope& scope) {
  SubscriptionRecord record;
  record.set_site(draft.site());
  record.set_resource_type(draft.resource_type());
  record.set_event_type(draft.event_type());
  record.set_target_url(draft.target_url());
  record.set_owner(draft.owner());
  record.set_permission(draft.permission());
  record.set_dialect(draft.dialect());
  record.set_filter(draft.filter());
  record.set_bypass_proxy(draft.bypass_proxy());
  record.set_client_certificate_pem(draft.client_certificate_pem());
  record.set_client_key_pem(draft.client_key_pem());
  RETURN_IF_ERROR(CheckNewCertificate(record, clock_->Now()));
  *record.mutable_delivery() = draft.delivery();
  if (scope.owner.has_value()) {
    if (record.owner().empty()) record.set_owner(*scope.owner);
    if (record.owner() != *scope.owner) {
      return error::OwnerNotCaller("subscription.owner", *scope.owner);
    }
  }
  RETURN_IF_ERROR(Normalize(record));
  absl::MutexLock lock(&mu_);
  if (index_.size() >= static_cast<size_t>(options_.limits.max_subscriptions)) {
    return error::TooMany("subscriptions", options_.limits.max_subscriptions);
  }
  RETURN_IF_ERROR(CheckOwnerQuota(record.owner()));
  const absl::Time now = clock_->Now();
  record.set_id(NewId("sub_", absl::ToUnixMillis(now), *random_));
  record.set_secret(NewSigningSecret(*random_));
  record.set_active(true);
  record.set_create_time_micros(absl::ToUnixMicros(now));
  record.set_update_time_micros(absl::ToUnixMicros(now));
  RETURN_IF_ERROR(Replace(nullptr, &record));
  return record;
}

absl::StatusOr<SubscriptionRecord> SubscriptionRegistry::Get(
    std::string_view id, const Scope& scope) const {
  return LoadVisible(id, scope);
}

absl::StatusOr<SubscriptionPage> SubscriptionRegistry::List(
    const ListQuery& query, const Scope& scope) const {
  ASSIGN_OR_RETURN(int page_size, NormalizePageSize("page_size",
                                                    query.page_size,
                                                    options_.limits));
  ListQuery effective = query;
  if (!effective.site.empty()) {
    ASSIGN_OR_RETURN(effective.site,
                     NormalizeSite("site", effective.site, options_.limits));
  }
  if (!effective.owner.empty()) {
    RETURN_IF_ERROR(
        ValidatePrincipalId("owner", effective.owner, options_.limits));
  }
  if (scope.owner.has_value()) {
    // Another principal's subscriptions do not exist for a scoped caller.
    if (!effective.owner.empty() && effective.owner != *scope.owner) {
      return SubscriptionPage{};
    }
    effective.owner = *scope.owner;
  }
  const bool by_owner = effective.site.empty() && !effective.owner.empty();
  std::string prefix;
  if (by_owner) {
    prefix = storage::keys::OwnerPrefix(effective.owner);
  } else if (effective.site.empty() || effective.include_descendants) {
    prefix = storage::keys::SiteSubtreePrefix(
        effective.site.empty() ? "/" : effective.site);
  } else {
    prefix = storage::keys::SiteExactPrefix(effective.site);
  }
  const Column column =
      by_owner ? Column::kSubscriptionsByOwner : Column::kSubscriptionsBySite;
  const uint64_t fingerprint = RequestFingerprint(
      {effective.site, effective.include_descendants ? "1" : "0",
       effective.owner,
       StrCat(static_cast<int>(effective.active))});
  ASSIGN_OR_RETURN(std::string after, DecodePageToken("page_token",
                                                      query.page_token,
                                                      fingerprint));
  if (!after.empty() && after.compare(0, prefix.size(), prefix) != 0) {
    return error::BadPageToken("page_token");
  }
  const std::string end = storage::PrefixSuccessor(prefix);
  SubscriptionPage page;
  std::string last_key;  // last key whose subscription is on the page
  std::string cursor = after.empty() ? prefix : after + std::string(1, '\0');
  bool more = true;
  while (more) {
    std::vector<std::pair<std::string, std::string>> chunk;  // key, id
    absl::Status parse_error;
    RETURN_IF_ERROR(store_->Scan(
        column, cursor, end, [&](std::string_view key, std::string_view) {
          std::optional<std::string> id;
          if (by_owner) {
            id = storage::keys::ParseSubscriptionOwner(key);
          } else if (auto parsed = storage::keys::ParseSubscriptionSite(key)) {
            id = std::move(parsed->subscription_id);
          }
          if (!id.has_value()) {
            parse_error = absl::DataLossError("malformed subscription index key");
            return false;
          }
          chunk.emplace_back(std::string(key), *std::move(id));
          return chunk.size() < static_cast<size_t>(kListChunk);
        }));
    RETURN_IF_ERROR(parse_error);
    more = chunk.size() == static_cast<size_t>(kListChunk);
    for (auto& [key, id] : chunk) {
      ASSIGN_OR_RETURN(std::optional<SubscriptionRecord> record, Load(id));
      // An index key whose record is gone was deleted after the scan began.
      if (!record.has_value()) continue;
      if (!effective.owner.empty() && record->owner() != effective.owner) {
        continue;
      }
      if (!PassesActiveFilter(*record, effective.active)) continue;
      if (page.subscriptions.size() == static_cast<size_t>(page_size)) {
        page.next_page_token = EncodePageToken(fingerprint, last_key);
        return page;
      }
      page.subscriptions.push_back(*std::move(record));
      last_key = key;
    }
    if (more) cursor = chunk.back().first + std::string(1, '\0');
  }
  return page;
}

absl::StatusOr<SubscriptionRecord> SubscriptionRegistry::Update(
    const SubscriptionRecord& changes, const std::vector<std::string>& paths,
    const Scope& scope) {
  RETURN_IF_ERROR(ValidateResourceId("subscription.id", changes.id()));
  if (paths.empty()) return error::RequiredField("update_mask");
  for (const std::string& path : paths) {
    if (!UpdatablePaths().contains(path)) {
      return error::InvalidField(
          "update_mask", StrCat("\"", path, "\" cannot be updated"));
    }
  }
  return RetryOnConflict([&]() -> absl::StatusOr<SubscriptionRecord> {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(SubscriptionRecord current, LoadVisible(changes.id(), scope));
    if (current.is_static()) {
      return error::SubscriptionStatic(current.id(), "updated");
    }
    SubscriptionRecord next = current;
    for (const std::string& path : paths) {
      if (path == "site") next.set_site(changes.site());
      if (path == "resource_type") next.set_resource_type(changes.resource_type());
      if (path == "event_type") next.set_event_type(changes.event_type());
      if (path == "target_url") next.set_target_url(changes.target_url());
      if (path == "owner") next.set_owner(changes.owner());
      if (path == "permission") next.set_permission(changes.permission());
      if (path == "dialect") next.set_dialect(changes.dialect());
      if (path == "filter") next.set_filter(changes.filter());
      if (path == "bypass_proxy") next.set_bypass_proxy(changes.bypass_proxy());
      if (path == "client_certificate") {
        next.set_client_certificate_pem(changes.client_certificate_pem());
        next.set_client_key_pem(changes.client_key_pem());
        RETURN_IF_ERROR(CheckNewCertificate(next, clock_->Now()));
      }
      if (path == "delivery") *next.mutable_delivery() = changes.delivery();
    }
    if (scope.owner.has_value() && next.owner() != *scope.owner) {
      return error::OwnerNotCaller("subscription.owner", *scope.owner);
    }
    RETURN_IF_ERROR(Normalize(next));
    if (next.owner() != current.owner()) {
      RETURN_IF_ERROR(CheckOwnerQuota(next.owner()));
    }
    next.set_update_time_micros(absl::ToUnixMicros(clock_->Now()));
    RETURN_IF_ERROR(Replace(&current, &next));
    return next;
  });
}

absl::StatusOr<SubscriptionRecord> SubscriptionRegistry::SetActive(
    std::string_view id, bool active, std::string_view message,
    const Scope& scope) {
  if (message.size() >
      static_cast<size_t>(options_.limits.max_status_message_length)) {
    return error::FieldTooLong("status_message",
                               options_.limits.max_status_message_length);
  }
  return RetryOnConflict([&]() -> absl::StatusOr<SubscriptionRecord> {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(SubscriptionRecord current, LoadVisible(id, scope));
    SubscriptionRecord next = current;
    next.set_active(active);
    if (active) {
      next.clear_status_message();
      next.set_consecutive_failures(0);
    } else {
      next.set_status_message(
          std::string(message.empty() ? kDeactivatedByApi : message));
    }
    next.set_update_time_micros(absl::ToUnixMicros(clock_->Now()));
    RETURN_IF_ERROR(Replace(&current, &next));
    return next;
  });
}

absl::Status SubscriptionRegistry::Delete(std::string_view id,
                                          const Scope& scope) {
  return RetryOnConflict([&]() -> absl::Status {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(SubscriptionRecord current, LoadVisible(id, scope));
    if (current.is_static()) return error::SubscriptionStatic(id, "deleted");
    return Replace(&current, nullptr);
  });
}

absl::StatusOr<SubscriptionRecord> SubscriptionRegistry::RotateSecret(
    std::string_view id, const Scope& scope) {
  return RetryOnConflict([&]() -> absl::StatusOr<SubscriptionRecord> {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(SubscriptionRecord current, LoadVisible(id, scope));
    const absl::Time now = clock_->Now();
    SubscriptionRecord next = current;
    next.set_previous_secret(current.secret());
    next.set_previous_secret_expire_micros(
        absl::ToUnixMicros(now + options_.secret_overlap));
    next.set_secret(NewSigningSecret(*random_));
    next.set_update_time_micros(absl::ToUnixMicros(now));
    RETURN_IF_ERROR(Replace(&current, &next));
    return next;
  });
}

absl::Status SubscriptionRegistry::DeleteDialect(std::string_view name) {
  RETURN_IF_ERROR(ValidateDialectName("name", name));
  absl::MutexLock lock(&mu_);
  auto it = dialect_users_.find(AsAbsl(name));
  if (it != dialect_users_.end() && it->second > 0) {
    return error::DialectInUse(name, it->second);
  }
  return dialects_->Delete(name);
}

size_t SubscriptionRegistry::CountUsingDialect(std::string_view dialect) const {
  absl::MutexLock lock(&mu_);
  auto it = dialect_users_.find(AsAbsl(dialect));
  return it == dialect_users_.end() ? 0 : it->second;
}

size_t SubscriptionRegistry::CountOwnedBy(std::string_view owner) const {
  absl::MutexLock lock(&mu_);
  auto it = owned_.find(AsAbsl(owner));
  return it == owned_.end() ? 0 : it->second;
}

}  // namespace webhooks::core
