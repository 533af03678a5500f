#include "core/prepared_matches.h"

#include <utility>

#include "common/strings.h"

namespace webhooks::core {

void PreparedMatches::Add(std::string_view transaction_id, int64_t held_before,
                          std::vector<PreparedEvent> events) {
  if (events.empty()) return;
  absl::MutexLock lock(&mu_);
  auto it = by_transaction_.find(AsAbsl(transaction_id));
  const size_t here = it == by_transaction_.end() ? 0 : it->second.size();
  if (static_cast<int64_t>(here) != held_before ||
      events_ + events.size() > max_events_) {
    // Some of the transaction is missing, or no room: Commit reads it all
    // from disk.
    EraseLocked(transaction_id);
    return;
  }
  events_ += events.size();
  if (it == by_transaction_.end()) {
    by_transaction_.emplace(std::string(transaction_id), std::move(events));
    return;
  }
  for (PreparedEvent& event : events) it->second.push_back(std::move(event));
}

std::optional<std::vector<PreparedEvent>> PreparedMatches::Take(
    std::string_view transaction_id, int64_t count,
    const EventMatcher::State& state) {
  absl::MutexLock lock(&mu_);
  auto it = by_transaction_.find(AsAbsl(transaction_id));
  if (it == by_transaction_.end()) return std::nullopt;
  std::vector<PreparedEvent> events = std::move(it->second);
  events_ -= events.size();
  by_transaction_.erase(it);
  if (static_cast<int64_t>(events.size()) != count) return std::nullopt;
  for (const PreparedEvent& event : events) {
    if (!(event.state == state)) return std::nullopt;
  }
  return events;
}

void PreparedMatches::Forget(std::string_view transaction_id) {
  absl::MutexLock lock(&mu_);
  EraseLocked(transaction_id);
}

size_t PreparedMatches::events() const {
  absl::MutexLock lock(&mu_);
  return events_;
}

void PreparedMatches::EraseLocked(std::string_view transaction_id) {
  auto it = by_transaction_.find(AsAbsl(transaction_id));
  if (it == by_transaction_.end()) return;
  events_ -= it->second.size();
  by_transaction_.erase(it);
}

}  // namespace webhooks::core
