#include "core/attempt_log.h"

#include "common/status_macros.h"
#include "common/strings.h"
#include "core/attempt_body.h"
#include "core/errors.h"
#include "core/page_token.h"
#include "core/validation.h"
#include "storage/key_codec.h"

namespace webhooks::core {
namespace {

using storage::Column;

bool ParseAttempt(std::string_view bytes, AttemptRecord& record) {
  return record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

std::optional<uint64_t> SeqOf(std::string_view key) {
  storage::KeyReader reader(key);
  std::string subscription;
  uint64_t seq = 0;
  if (!reader.ReadString(&subscription) || !reader.ReadUint64(&seq)) {
    return std::nullopt;
  }
  return seq;
}

}  // namespace

absl::StatusOr<AttemptLog::Ring*> AttemptLog::RingFor(
    std::string_view subscription_id) {
  auto it = rings_.find(AsAbsl(subscription_id));
  if (it != rings_.end()) return &it->second;
  Ring ring;
  absl::Status parse_error;
  RETURN_IF_ERROR(store_->ScanPrefix(
      Column::kAttempts, storage::keys::AttemptsPrefix(subscription_id),
      [&](std::string_view key, std::string_view value) {
        std::optional<uint64_t> seq = SeqOf(key);
        AttemptRecord record;
        if (!seq.has_value() || !ParseAttempt(value, record)) {
          parse_error = absl::DataLossError("stored attempt is corrupt");
          return false;
        }
        ring.next_seq = *seq + 1;
        if (record.status() != AttemptRecord::PENDING) {
          ring.resolved.push_back(*seq);
        }
        return true;
      }));
  RETURN_IF_ERROR(parse_error);
  return &rings_.emplace(std::string(subscription_id), std::move(ring))
              .first->second;
}

absl::Status AttemptLog::StageAppend(AttemptRecord& attempt,
                                     storage::WriteBatch& batch) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Ring * ring, RingFor(attempt.subscription_id()));
  attempt.set_seq(ring->next_seq++);
  batch.Put(Column::kAttempts,
            storage::keys::Attempt(attempt.subscription_id(), attempt.seq()),
            attempt.SerializeAsString());
  if (attempt.status() != AttemptRecord::PENDING) {
    ring->resolved.push_back(attempt.seq());
  }
  while (ring->resolved.size() > static_cast<size_t>(keep_)) {
    batch.Delete(Column::kAttempts,
                 storage::keys::Attempt(attempt.subscription_id(),
                                        ring->resolved.front()));
    ring->resolved.pop_front();
  }
  return absl::OkStatus();
}

void AttemptLog::Invalidate(std::string_view subscription_id) {
  absl::MutexLock lock(&mu_);
  rings_.erase(AsAbsl(subscription_id));
}

void AttemptLog::InvalidateAll() {
  absl::MutexLock lock(&mu_);
  rings_.clear();
}

absl::StatusOr<AttemptPage> AttemptLog::List(
    std::string_view subscription_id,
    std::optional<AttemptRecord::Status> status, int page_size,
    std::string_view page_token) const {
  ASSIGN_OR_RETURN(int size, NormalizePageSize("page_size", page_size, limits_));
  const uint64_t fingerprint = RequestFingerprint(
      {subscription_id, StrCat(status.has_value() ? static_cast<int>(*status) : -1)});
  ASSIGN_OR_RETURN(std::string before,
                   DecodePageToken("page_token", page_token, fingerprint));
  const std::string prefix = storage::keys::AttemptsPrefix(subscription_id);
  // Newest first: collect the (small, bounded) log and walk it backwards.
  std::vector<std::pair<std::string, AttemptRecord>> all;
  absl::Status parse_error;
  RETURN_IF_ERROR(store_->Scan(
      Column::kAttempts, prefix,
      before.empty() ? storage::PrefixSuccessor(prefix) : before,
      [&](std::string_view key, std::string_view value) {
        AttemptRecord record;
        if (!ParseAttempt(value, record)) {
          parse_error = absl::DataLossError("stored attempt is corrupt");
          return false;
        }
        if (!status.has_value() || record.status() == *status) {
          all.emplace_back(std::string(key), std::move(record));
        }
        return true;
      }));
  RETURN_IF_ERROR(parse_error);
  AttemptPage page;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (page.attempts.size() == static_cast<size_t>(size)) {
      page.next_page_token = EncodePageToken(fingerprint, (it - 1)->first);
      break;
    }
    page.attempts.push_back(it->second);
  }
  RETURN_IF_ERROR(FillRequestBodies(*store_, page.attempts));
  return page;
}

absl::StatusOr<AttemptRecord> AttemptLog::Get(
    std::string_view subscription_id, std::string_view attempt_id) const {
  RETURN_IF_ERROR(ValidateResourceId("attempt_id", attempt_id));
  std::optional<AttemptRecord> found;
  RETURN_IF_ERROR(store_->ScanPrefix(
      Column::kAttempts, storage::keys::AttemptsPrefix(subscription_id),
      [&](std::string_view, std::string_view value) {
        AttemptRecord record;
        if (ParseAttempt(value, record) && record.id() == attempt_id) {
          found = std::move(record);
          return false;
        }
        return true;
      }));
  if (!found.has_value()) {
    return absl::NotFoundError(StrCat("attempt \"", attempt_id, "\" not found"));
  }
  RETURN_IF_ERROR(FillRequestBodies(*store_, std::span(&*found, 1)));
  return *std::move(found);
}

}  // namespace webhooks::core
