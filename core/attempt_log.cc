#include "core/attempt_log.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
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

// The number in an attempt's key: its slot, or its seq for a record
// stored before slots.
std::optional<uint64_t> KeyNumberOf(std::string_view key) {
  storage::KeyReader reader(key);
  std::string subscription;
  uint64_t number = 0;
  if (!reader.ReadString(&subscription) || !reader.ReadUint64(&number)) {
    return std::nullopt;
  }
  return number;
}

// A stored attempt and its place in the log.
struct Entry {
  uint64_t seq;
  uint64_t key;
  AttemptRecord record;
};

// Every stored attempt of a subscription, oldest first. A record's seq is
// its own, or its key's when it was stored under its seq without one.
absl::StatusOr<std::vector<Entry>> ReadLog(const storage::Store& store,
                                          std::string_view subscription_id) {
  std::vector<Entry> entries;
  absl::Status parse_error;
  RETURN_IF_ERROR(store.ScanPrefix(
      Column::kAttempts, storage::keys::AttemptsPrefix(subscription_id),
      [&](std::string_view key, std::string_view value) {
        std::optional<uint64_t> number = KeyNumberOf(key);
        Entry entry{0, 0, AttemptRecord()};
        if (!number.has_value() || !ParseAttempt(value, entry.record)) {
          parse_error = absl::DataLossError("stored attempt is corrupt");
          return false;
        }
        entry.key = *number;
        entry.seq = std::max<uint64_t>(entry.record.seq(), *number);
        entries.push_back(std::move(entry));
        return true;
      }));
  RETURN_IF_ERROR(parse_error);
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.seq < b.seq; });
  return entries;
}

}  // namespace

absl::StatusOr<AttemptLog::Ring*> AttemptLog::RingFor(
    std::string_view subscription_id) {
  auto it = rings_.find(AsAbsl(subscription_id));
  if (it != rings_.end()) return &it->second;
  ASSIGN_OR_RETURN(std::vector<Entry> entries, ReadLog(*store_, subscription_id));
  Ring ring;
  for (const Entry& entry : entries) {
    ring.next_seq = entry.seq + 1;
    if (entry.record.status() != AttemptRecord::PENDING) {
      ring.resolved.push_back(Stored{entry.seq, entry.key});
    }
  }
  return &rings_.emplace(std::string(subscription_id), std::move(ring))
              .first->second;
}

absl::Status AttemptLog::StageAppend(AttemptRecord& attempt,
                                     storage::WriteBatch& batch) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Ring * ring, RingFor(attempt.subscription_id()));
  const uint64_t seq = ring->next_seq++;
  const uint64_t slot = seq % static_cast<uint64_t>(keep_);
  attempt.set_seq(seq);
  // Serialized into one reused buffer: the batch copies the bytes.
  thread_local std::string bytes;
  attempt.SerializeToString(&bytes);
  batch.Put(Column::kAttempts,
            storage::keys::Attempt(attempt.subscription_id(), slot), bytes);
  // What was stored in the slot is overwritten: the oldest, once the ring
  // is full of slotted records (checked first); otherwise any (a ring not
  // yet full, or holding records stored by seq, is searched).
  std::deque<Stored>& resolved = ring->resolved;
  if (!resolved.empty() && resolved.front().key == slot) {
    resolved.pop_front();
  } else {
    auto overwritten =
        std::find_if(resolved.begin(), resolved.end(),
                     [&](const Stored& s) { return s.key == slot; });
    if (overwritten != resolved.end()) resolved.erase(overwritten);
  }
  if (attempt.status() != AttemptRecord::PENDING) {
    resolved.push_back(Stored{seq, slot});
  }
  // Records under other keys (stored by seq, or under a larger `keep`)
  // are deleted as they fall out. Keys in `resolved` are distinct, so none
  // of these is the slot just written.
  while (resolved.size() > static_cast<size_t>(keep_)) {
    batch.Delete(Column::kAttempts,
                 storage::keys::Attempt(attempt.subscription_id(),
                                        resolved.front().key));
    resolved.pop_front();
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
  // The token holds the seq of the last attempt returned.
  std::optional<uint64_t> before_seq;
  if (!before.empty()) {
    uint64_t seq = 0;
    if (!absl::SimpleAtoi(before, &seq)) {
      return absl::InvalidArgumentError(
          "page_token: not a token of this listing (was it issued by an "
          "older version? start again without one)");
    }
    before_seq = seq;
  }
  // Newest first: the (small, bounded) log, read whole.
  ASSIGN_OR_RETURN(std::vector<Entry> entries, ReadLog(*store_, subscription_id));
  AttemptPage page;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (before_seq.has_value() && it->seq >= *before_seq) continue;
    if (status.has_value() && it->record.status() != *status) continue;
    if (page.attempts.size() == static_cast<size_t>(size)) {
      page.next_page_token =
          EncodePageToken(fingerprint, StrCat(page.attempts.back().seq()));
      break;
    }
    it->record.set_seq(it->seq);
    page.attempts.push_back(std::move(it->record));
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
