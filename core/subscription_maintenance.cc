// The registry's bulk maintenance: the config file's static subscriptions,
// the removal of a principal, and the health that delivery outcomes report.
#include "core/subscription_registry.h"

#include <set>

#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "core/conflict_retry.h"
#include "core/errors.h"
#include "core/page_token.h"
#include "core/signing_secret.h"
#include "core/validation.h"
#include "storage/key_codec.h"

namespace webhooks::core {
namespace {

using storage::Column;

constexpr std::string_view kRemovedFromConfig =
    "Removed from the configuration file.";
constexpr std::string_view kOwnerRemoved = "The owning principal was removed.";

}  // namespace

std::string StaticSubscriptionId(const SubscriptionRecord& r) {
  // The filter counts only when set, so that ids from before filters stay;
  // delivery settings do not count (changing them keeps the subscription).
  uint64_t hash =
      r.filter().empty()
          ? RequestFingerprint({r.site(), r.resource_type(), r.event_type(),
                                r.target_url(), r.owner(), r.permission(),
                                r.dialect()})
          : RequestFingerprint({r.site(), r.resource_type(), r.event_type(),
                                r.target_url(), r.owner(), r.permission(),
                                r.dialect(), r.filter()});
  return absl::StrFormat("static_%016x", hash);
}

absl::StatusOr<PrincipalRemoval> SubscriptionRegistry::RemovePrincipal(
    std::string_view owner, bool deactivate_only) {
  RETURN_IF_ERROR(ValidatePrincipalId("id", owner, options_.limits));
  return RetryOnConflict([&]() -> absl::StatusOr<PrincipalRemoval> {
    absl::MutexLock lock(&mu_);
    const bool known_groups = principals_->Get(owner).ok();
    std::vector<std::string> ids;
    RETURN_IF_ERROR(store_->ScanPrefix(
        Column::kSubscriptionsByOwner, storage::keys::OwnerPrefix(owner),
        [&](std::string_view key, std::string_view) {
          if (auto id = storage::keys::ParseSubscriptionOwner(key)) {
            ids.push_back(*std::move(id));
          }
          return true;
        }));
    if (!known_groups && ids.empty()) return error::PrincipalNotFound(owner);
    std::vector<SubscriptionRecord> before, after;
    PrincipalRemoval removal;
    const int64_t now = absl::ToUnixMicros(clock_->Now());
    for (const std::string& id : ids) {
      ASSIGN_OR_RETURN(std::optional<SubscriptionRecord> record, Load(id));
      if (!record.has_value()) continue;
      before.push_back(*record);
      if (record->is_static() || deactivate_only) {
        record->set_active(false);
        record->set_status_message(std::string(kOwnerRemoved));
        record->set_update_time_micros(now);
        after.push_back(*std::move(record));
        ++removal.deactivated;
      } else {
        after.emplace_back();  // an empty id marks a deletion
        ++removal.deleted;
      }
    }
    storage::WriteBatch batch;
    for (size_t i = 0; i < before.size(); ++i) {
      StageReplace(&before[i], after[i].id().empty() ? nullptr : &after[i],
                   batch);
    }
    PrincipalDirectory::StageForget(owner, batch);
    RETURN_IF_ERROR(store_->Write(batch));
    for (size_t i = 0; i < before.size(); ++i) {
      Mirror(before[i].id(), after[i].id().empty() ? nullptr : &after[i]);
    }
    principals_->Forgotten(owner);
    return removal;
  });
}

absl::Status SubscriptionRegistry::SyncStatic(
    const std::vector<SubscriptionRecord>& declared) {
  std::vector<SubscriptionRecord> wanted;
  std::set<std::string> wanted_ids;
  for (size_t i = 0; i < declared.size(); ++i) {
    SubscriptionRecord record;
    record.set_id(declared[i].id());
    record.set_site(declared[i].site());
    record.set_resource_type(declared[i].resource_type());
    record.set_event_type(declared[i].event_type());
    record.set_target_url(declared[i].target_url());
    record.set_owner(declared[i].owner());
    record.set_permission(declared[i].permission());
    record.set_dialect(declared[i].dialect());
    record.set_filter(declared[i].filter());
    record.set_bypass_proxy(declared[i].bypass_proxy());
    record.set_client_certificate_pem(declared[i].client_certificate_pem());
    record.set_client_key_pem(declared[i].client_key_pem());
    *record.mutable_delivery() = declared[i].delivery();
    absl::Status valid = Normalize(record);
    if (valid.ok() && !record.id().empty()) {
      valid = ValidateResourceId("subscription.id", record.id());
    }
    if (!valid.ok()) {
      return absl::InvalidArgumentError(
          StrCat("config subscriptions[", i, "]: ", valid.message()));
    }
    if (record.id().empty()) record.set_id(StaticSubscriptionId(record));
    if (!wanted_ids.insert(record.id()).second) {
      return absl::InvalidArgumentError(
          StrCat("config subscriptions[", i, "]: subscription \"",
                       record.id(), "\" is declared twice"));
    }
    wanted.push_back(std::move(record));
  }
  return RetryOnConflict([&]() -> absl::Status {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    for (SubscriptionRecord& want : wanted) {
      ASSIGN_OR_RETURN(std::optional<SubscriptionRecord> current, Load(want.id()));
      if (current.has_value() && !current->is_static()) {
        return absl::InvalidArgumentError(
            StrCat("config subscriptions: id \"", want.id(),
                         "\" belongs to a subscription made through the API"));
      }
      SubscriptionRecord next = current.value_or(SubscriptionRecord());
      next.set_id(want.id());
      next.set_site(want.site());
      next.set_resource_type(want.resource_type());
      next.set_event_type(want.event_type());
      next.set_target_url(want.target_url());
      next.set_owner(want.owner());
      next.set_permission(want.permission());
      next.set_dialect(want.dialect());
      next.set_filter(want.filter());
      next.set_bypass_proxy(want.bypass_proxy());
      next.set_client_certificate_pem(want.client_certificate_pem());
      next.set_client_key_pem(want.client_key_pem());
      *next.mutable_delivery() = want.delivery();
      next.set_is_static(true);
      if (!current.has_value()) {
        next.set_secret(NewSigningSecret(*random_));
        next.set_active(true);
        next.set_create_time_micros(absl::ToUnixMicros(now));
      } else if (!next.active() && next.status_message() == kRemovedFromConfig) {
        next.set_active(true);
        next.clear_status_message();
      }
      if (current.has_value() &&
          current->SerializeAsString() == next.SerializeAsString()) {
        continue;
      }
      next.set_update_time_micros(absl::ToUnixMicros(now));
      RETURN_IF_ERROR(Replace(current.has_value() ? &*current : nullptr, &next));
    }
    std::vector<std::string> gone;
    for (const std::string& id : static_ids_) {
      if (!wanted_ids.contains(id)) gone.push_back(id);
    }
    for (const std::string& id : gone) {
      ASSIGN_OR_RETURN(std::optional<SubscriptionRecord> current, Load(id));
      if (!current.has_value() || !current->active()) continue;
      SubscriptionRecord next = *current;
      next.set_active(false);
      next.set_status_message(std::string(kRemovedFromConfig));
      next.set_update_time_micros(absl::ToUnixMicros(now));
      RETURN_IF_ERROR(Replace(&*current, &next));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<SubscriptionRegistry::Deactivation>>
SubscriptionRegistry::RecordAttemptOutcomes(
    const std::vector<AttemptOutcome>& outcomes, int failure_limit) {
  return RetryOnConflict([&]() -> absl::StatusOr<std::vector<Deactivation>> {
    absl::MutexLock lock(&mu_);
    // The latest state of each touched subscription, in first-touch order.
    std::vector<std::pair<SubscriptionRecord, SubscriptionRecord>> touched;
    absl::flat_hash_map<std::string, size_t> position;
    std::vector<Deactivation> deactivated;
    const int64_t now = absl::ToUnixMicros(clock_->Now());
    for (const AttemptOutcome& outcome : outcomes) {
      auto it = position.find(outcome.subscription_id);
      if (it == position.end() &&
          outcome.kind == AttemptOutcome::Kind::kSucceeded &&
          !failing_.contains(outcome.subscription_id)) {
        continue;  // no failures to forget: nothing to change
      }
      if (it == position.end()) {
        ASSIGN_OR_RETURN(std::optional<SubscriptionRecord> loaded,
                         Load(outcome.subscription_id));
        if (!loaded.has_value()) continue;
        it = position.emplace(outcome.subscription_id, touched.size()).first;
        touched.emplace_back(*loaded, *loaded);
      }
      SubscriptionRecord& record = touched[it->second].second;
      if (!record.active()) continue;
      switch (outcome.kind) {
        case AttemptOutcome::Kind::kSucceeded:
          record.set_consecutive_failures(0);
          break;
        case AttemptOutcome::Kind::kFailed:
          record.set_consecutive_failures(record.consecutive_failures() + 1);
          if (record.consecutive_failures() >= failure_limit) {
            record.set_active(false);
            record.set_status_message(
                "Delivery suspended due to too many delivery failures.");
          }
          break;
        case AttemptOutcome::Kind::kGone:
          record.set_active(false);
          record.set_status_message(
              "The target answered 410 Gone; the subscription was deactivated.");
          break;
      }
      if (!record.active()) {
        record.set_update_time_micros(now);
        deactivated.push_back(
            {record.id(), record.owner(), record.status_message()});
      }
    }
    storage::WriteBatch batch;
    std::vector<size_t> changed;
    for (size_t i = 0; i < touched.size(); ++i) {
      if (touched[i].first.SerializeAsString() !=
          touched[i].second.SerializeAsString()) {
        StageReplace(&touched[i].first, &touched[i].second, batch);
        changed.push_back(i);
      }
    }
    if (batch.empty()) return deactivated;
    RETURN_IF_ERROR(store_->Write(batch));
    for (size_t i : changed) Mirror(touched[i].first.id(), &touched[i].second);
    return deactivated;
  });
}

}  // namespace webhooks::core
