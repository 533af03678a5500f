#include "delivery/scheduler.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/strings.h"

namespace webhooks::delivery {
namespace {

// ready_ is a min-heap: std::*_heap keep the largest first, so compare
// with greater.
constexpr auto kLater = [](const auto& a, const auto& b) {
  return a.first > b.first;
};

// A front consumed this far (and at least half the vector) is dropped.
constexpr size_t kCompactAfter = 256;

}  // namespace

void Scheduler::Fifo::push(uint64_t sequence, Pending pending) {
  items_.emplace_back(sequence, std::move(pending));
}

Pending Scheduler::Fifo::pop() {
  Pending pending = std::move(items_[head_].second);
  ++head_;
  if (head_ == items_.size()) {
    items_.clear();
    head_ = 0;
  } else if (head_ >= kCompactAfter && 2 * head_ >= items_.size()) {
    items_.erase(items_.begin(), items_.begin() + static_cast<ptrdiff_t>(head_));
    head_ = 0;
  }
  return pending;
}

Scheduler::Scheduler(int max_in_flight, int max_per_destination)
    : max_in_flight_(std::max(1, max_in_flight)),
      max_per_destination_(std::max(1, max_per_destination)) {}

void Scheduler::MakeReady(uint64_t sequence, Destination* destination) {
  ready_.emplace_back(sequence, destination);
  std::push_heap(ready_.begin(), ready_.end(), kLater);
}

void Scheduler::Push(Pending pending) {
  const uint64_t sequence = next_sequence_++;
  const std::string& key = pending.checked->destination;
  auto it = destinations_.find(AsAbsl(key));
  if (it == destinations_.end()) {
    it = destinations_.emplace(key, std::make_unique<Destination>()).first;
  }
  Destination* destination = it->second.get();
  if (destination->queue.empty() &&
      destination->started < max_per_destination_) {
    MakeReady(sequence, destination);
  }
  destination->queue.push(sequence, std::move(pending));
  ++queued_;
}

std::optional<Pending> Scheduler::Next() {
  if (started_ >= max_in_flight_ || ready_.empty()) return std::nullopt;
  std::pop_heap(ready_.begin(), ready_.end(), kLater);
  Destination* destination = ready_.back().second;
  ready_.pop_back();
  Pending pending = destination->queue.pop();
  --queued_;
  ++destination->started;
  ++started_;
  if (!destination->queue.empty() &&
      destination->started < max_per_destination_) {
    MakeReady(destination->queue.front_sequence(), destination);
  }
  return pending;
}

void Scheduler::Finished(std::string_view key) {
  auto it = destinations_.find(AsAbsl(key));
  if (it == destinations_.end() || it->second->started == 0) return;
  Destination& destination = *it->second;
  const bool was_at_cap = destination.started >= max_per_destination_;
  --destination.started;
  --started_;
  if (destination.queue.empty()) {
    // Not in ready_ (nothing queued): nothing points at it.
    if (destination.started == 0) destinations_.erase(it);
  } else if (was_at_cap && destination.started < max_per_destination_) {
    MakeReady(destination.queue.front_sequence(), &destination);
  }
}

std::vector<Pending> Scheduler::TakeQueued() {
  std::vector<std::pair<uint64_t, Pending>> all;
  all.reserve(queued_);
  for (auto it = destinations_.begin(); it != destinations_.end();) {
    it->second->queue.drain(
        [&](std::pair<uint64_t, Pending> entry) { all.push_back(std::move(entry)); });
    if (it->second->started == 0) {
      destinations_.erase(it++);
    } else {
      ++it;
    }
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

int Scheduler::started(std::string_view key) const {
  auto it = destinations_.find(AsAbsl(key));
  return it == destinations_.end() ? 0 : it->second->started;
}

}  // namespace webhooks::delivery
