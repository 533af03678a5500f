#include "core/principal_directory.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "core/errors.h"
#include "core/validation.h"

namespace webhooks::core {

absl::StatusOr<std::unique_ptr<PrincipalDirectory>> PrincipalDirectory::Open(
    storage::Store* store, const Clock* clock, const Limits& limits) {
  std::unique_ptr<PrincipalDirectory> directory(
      new PrincipalDirectory(store, clock, limits));
  absl::MutexLock lock(&directory->mu_);
  absl::Status parse_error;
  RETURN_IF_ERROR(store->Scan(
      storage::Column::kPrincipals, "", "",
      [&](std::string_view key, std::string_view value) {
        PrincipalRecord record;
        if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          parse_error = absl::DataLossError(
              StrCat("stored principal \"", key, "\" is corrupt"));
          return false;
        }
        directory->JoinGroups(key, record);
        directory->principals_.emplace(std::string(key), std::move(record));
        return true;
      }));
  RETURN_IF_ERROR(parse_error);
  return directory;
}

absl::StatusOr<PrincipalRecord> PrincipalDirectory::SetGroups(
    std::string_view id, const std::vector<std::string>& groups) {
  RETURN_IF_ERROR(ValidatePrincipalId("principal_id", id, limits_));
  ASSIGN_OR_RETURN(std::vector<std::string> normalized,
                   NormalizeGroups("groups", groups, limits_));
  PrincipalRecord record;
  record.set_id(std::string(id));
  for (std::string& group : normalized) record.add_groups(std::move(group));
  record.set_update_time_micros(absl::ToUnixMicros(clock_->Now()));
  storage::WriteBatch batch;
  batch.Put(storage::Column::kPrincipals, id, record.SerializeAsString());
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(store_->Write(batch));
  PrincipalRecord& stored = principals_[record.id()];
  LeaveGroups(id, stored);
  stored = record;
  JoinGroups(id, stored);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  return record;
}

absl::StatusOr<PrincipalRecord> PrincipalDirectory::Get(
    std::string_view id) const {
  RETURN_IF_ERROR(ValidatePrincipalId("id", id, limits_));
  absl::ReaderMutexLock lock(&mu_);
  auto it = principals_.find(AsAbsl(id));
  if (it == principals_.end()) return error::PrincipalNotFound(id);
  return it->second;
}

const PrincipalDirectory::Members*
PrincipalDirectory::MembershipView::MembersOf(std::string_view group) const {
  auto it = directory_->members_.find(AsAbsl(group));
  return it == directory_->members_.end() ? nullptr : &it->second;
}

void PrincipalDirectory::JoinGroups(std::string_view id,
                                    const PrincipalRecord& record) {
  for (const std::string& group : record.groups()) {
    members_[group].insert(std::string(id));
  }
}

void PrincipalDirectory::LeaveGroups(std::string_view id,
                                     const PrincipalRecord& record) {
  for (const std::string& group : record.groups()) {
    auto it = members_.find(group);
    if (it == members_.end()) continue;
    it->second.erase(AsAbsl(id));
    if (it->second.empty()) members_.erase(it);
  }
}

void PrincipalDirectory::StageForget(std::string_view id,
                                     storage::WriteBatch& batch) {
  batch.Delete(storage::Column::kPrincipals, id);
}

void PrincipalDirectory::Forgotten(std::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = principals_.find(AsAbsl(id));
  if (it == principals_.end()) return;
  LeaveGroups(id, it->second);
  principals_.erase(it);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

absl::Status PrincipalDirectory::Refresh(std::string_view id) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_->Get(storage::Column::kPrincipals, id));
  PrincipalRecord record;
  if (bytes.has_value() &&
      !record.ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) {
    return absl::DataLossError(StrCat("stored principal \"", id, "\" is corrupt"));
  }
  absl::MutexLock lock(&mu_);
  Mirror(id, bytes.has_value() ? &record : nullptr);
  return absl::OkStatus();
}

absl::Status PrincipalDirectory::Reload() {
  absl::flat_hash_map<std::string, PrincipalRecord> stored;
  absl::Status parse_error;
  RETURN_IF_ERROR(store_->Scan(
      storage::Column::kPrincipals, "", "",
      [&](std::string_view key, std::string_view value) {
        PrincipalRecord& record = stored[std::string(key)];
        if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          parse_error = absl::DataLossError(
              StrCat("stored principal \"", key, "\" is corrupt"));
          return false;
        }
        return true;
      }));
  RETURN_IF_ERROR(parse_error);
  absl::MutexLock lock(&mu_);
  std::vector<std::string> gone;
  for (const auto& [id, record] : principals_) {
    if (!stored.contains(id)) gone.push_back(id);
  }
  for (const std::string& id : gone) Mirror(id, nullptr);
  for (const auto& [id, record] : stored) Mirror(id, &record);
  return absl::OkStatus();
}

void PrincipalDirectory::Mirror(std::string_view id,
                                const PrincipalRecord* record) {
  auto it = principals_.find(AsAbsl(id));
  if (it != principals_.end()) {
    if (record != nullptr &&
        it->second.SerializeAsString() == record->SerializeAsString()) {
      return;  // unchanged: keep the generation (and cached matches)
    }
    LeaveGroups(id, it->second);
    principals_.erase(it);
  } else if (record == nullptr) {
    return;
  }
  if (record != nullptr) {
    PrincipalRecord& stored = principals_[std::string(id)];
    stored = *record;
    JoinGroups(id, stored);
  }
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace webhooks::core
