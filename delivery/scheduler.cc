#include "delivery/scheduler.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace webhooks::delivery {

Scheduler::Scheduler(int max_in_flight, int max_per_destination)
    : max_in_flight_(std::max(1, max_in_flight)),
      max_per_destination_(std::max(1, max_per_destination)) {}

void Scheduler::Push(Pending pending) {
  const uint64_t sequence = next_sequence_++;
  const std::string key = pending.checked.destination;
  Destination& destination = destinations_[key];
  if (destination.queue.empty() &&
      destination.started < max_per_destination_) {
    ready_.emplace(sequence, key);
  }
  destination.queue.emplace_back(sequence, std::move(pending));
  ++queued_;
}

std::optional<Pending> Scheduler::Next() {
  if (started_ >= max_in_flight_ || ready_.empty()) return std::nullopt;
  const std::string key = ready_.begin()->second;
  ready_.erase(ready_.begin());
  Destination& destination = destinations_[key];
  Pending pending = std::move(destination.queue.front().second);
  destination.queue.pop_front();
  --queued_;
  ++destination.started;
  ++started_;
  if (!destination.queue.empty() &&
      destination.started < max_per_destination_) {
    ready_.emplace(destination.queue.front().first, key);
  }
  return pending;
}

void Scheduler::Finished(const std::string& key) {
  auto it = destinations_.find(key);
  if (it == destinations_.end() || it->second.started == 0) return;
  Destination& destination = it->second;
  const bool was_at_cap = destination.started >= max_per_destination_;
  --destination.started;
  --started_;
  if (destination.queue.empty()) {
    if (destination.started == 0) destinations_.erase(it);
  } else if (was_at_cap && destination.started < max_per_destination_) {
    ready_.emplace(destination.queue.front().first, key);
  }
}

std::vector<Pending> Scheduler::TakeQueued() {
  std::vector<std::pair<uint64_t, Pending>> all;
  all.reserve(queued_);
  for (auto it = destinations_.begin(); it != destinations_.end();) {
    for (auto& entry : it->second.queue) all.push_back(std::move(entry));
    it->second.queue.clear();
    it = it->second.started == 0 ? destinations_.erase(it) : std::next(it);
  }
  ready_.clear();
  queued_ = 0;
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a.first < b.first;
  });
  std::vector<Pending> out;
  out.reserve(all.size());
  for (auto& entry : all) out.push_back(std::move(entry.second));
  return out;
}

int Scheduler::started(const std::string& key) const {
  auto it = destinations_.find(key);
  return it == destinations_.end() ? 0 : it->second.started;
}

}  // namespace webhooks::delivery
