#include "storage/sequencer.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/numbers.h"
#include "common/strings.h"

namespace webhooks::storage {

std::string Sequencer::CounterKey(std::string_view counter) {
  return StrCat("seq/", counter);
}

absl::StatusOr<uint64_t> Sequencer::Last(std::string_view counter) const {
  absl::StatusOr<std::optional<std::string>> stored =
      store_->Get(Column::kMeta, CounterKey(counter));
  if (!stored.ok()) return stored.status();
  uint64_t value = 0;
  if (stored->has_value() && !absl::SimpleAtoi(**stored, &value)) {
    return absl::DataLossError(
        StrCat("storage: counter \"", counter, "\" is corrupt"));
  }
  return value;
}

absl::Status Sequencer::Write(
    WriteBatch& batch, std::span<const SequenceNeed> needs,
    absl::FunctionRef<void(std::span<const uint64_t>, WriteBatch&)> fill,
    WriteOptions options) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  // Every stripe of these counters, in one order (no deadlock).
  std::vector<size_t> stripes;
  for (const SequenceNeed& need : needs) {
    stripes.push_back(absl::Hash<std::string>()(need.counter) % kStripes);
  }
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  for (size_t s : stripes) stripes_[s].Lock();

  absl::Status status;
  std::vector<uint64_t> last(needs.size(), 0);
  for (size_t i = 0; i < needs.size() && status.ok(); ++i) {
    std::optional<uint64_t> known;
    {
      absl::MutexLock lock(&cache_mu_);
      if (auto it = last_.find(needs[i].counter); it != last_.end()) {
        known = it->second;
      }
    }
    if (!known.has_value()) {
      absl::StatusOr<uint64_t> stored = Last(needs[i].counter);
      if (!stored.ok()) {
        status = stored.status();
        break;
      }
      known = *stored;
    }
    last[i] = *known;
    // A counter never written is expected absent.
    const std::string key = CounterKey(needs[i].counter);
    if (last[i] == 0) {
      batch.Expect(Column::kMeta, key, std::nullopt);
    } else {
      batch.Expect(Column::kMeta, key, StrCat(last[i]));
    }
  }
  if (status.ok()) {
    std::vector<uint64_t> first(needs.size());
    for (size_t i = 0; i < needs.size(); ++i) first[i] = last[i] + 1;
    fill(first, batch);
    for (size_t i = 0; i < needs.size(); ++i) {
      last[i] += needs[i].count;
      batch.Put(Column::kMeta, CounterKey(needs[i].counter),
                StrCat(last[i]));
    }
    status = store_->Write(batch, options);
  }
  {
    absl::MutexLock lock(&cache_mu_);
    for (size_t i = 0; i < needs.size(); ++i) {
      // Unknown after a failure: read again next time.
      if (status.ok()) {
        last_[needs[i].counter] = last[i];
      } else {
        last_.erase(needs[i].counter);
      }
    }
  }
  for (auto it = stripes.rbegin(); it != stripes.rend(); ++it) {
    stripes_[*it].Unlock();
  }
  return status;
}

}  // namespace webhooks::storage
