// Decides which queued request starts next in the curl loop: the oldest one
// whose destination (scheme://host:port) has fewer than
// `max_per_destination` transfers started, while fewer than `max_in_flight`
// are started in all. A destination at its cap does not hold up the others;
// requests to one destination start in the order they were pushed.
//
//   Scheduler scheduler(512, 32);
//   scheduler.Push(std::move(pending));
//   while (std::optional<Pending> next = scheduler.Next()) Start(*next);
//   ...
//   scheduler.Finished(destination);  // when a started transfer ends
//
// Not thread-safe: the curl loop thread owns it.
#ifndef WEBHOOKS_DELIVERY_SCHEDULER_H_
#define WEBHOOKS_DELIVERY_SCHEDULER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"

#include "delivery/transfer.h"

namespace webhooks::delivery {

class Scheduler {
 public:
  // Both caps are at least 1.
  Scheduler(int max_in_flight, int max_per_destination);

  // Queues `pending` (keyed by pending.checked->destination).
  void Push(Pending pending);
  // The next request to start, counted as started; nullopt when none may
  // start now.
  std::optional<Pending> Next();
  // A started request to `destination` has ended.
  void Finished(std::string_view destination);
  // Removes and returns every queued (not started) request, oldest first.
  std::vector<Pending> TakeQueued();

  size_t queued() const { return queued_; }
  int started() const { return started_; }
  // Started requests to `destination`.
  int started(std::string_view destination) const;

 private:
  // Requests to one destination in the order pushed: a vector whose
  // consumed front is dropped in bulk, so a steady stream reuses its
  // storage (a deque of requests this size allocates one block per
  // request).
  class Fifo {
   public:
    bool empty() const { return head_ == items_.size(); }
    uint64_t front_sequence() const { return items_[head_].first; }
    void push(uint64_t sequence, Pending pending);
    Pending pop();
    template <typename F>
    void drain(F f) {
      for (size_t i = head_; i < items_.size(); ++i) f(std::move(items_[i]));
      items_.clear();
      head_ = 0;
    }

   private:
    std::vector<std::pair<uint64_t, Pending>> items_;  // (sequence, request)
    size_t head_ = 0;
  };
  struct Destination {
    Fifo queue;
    int started = 0;
  };
  // (sequence of the head, destination), a min-heap by sequence.
  using Ready = std::pair<uint64_t, Destination*>;
  void MakeReady(uint64_t sequence, Destination* destination);

  const int max_in_flight_;
  const int max_per_destination_;
  // Boxed: ready_ points at them while they wait.
  absl::flat_hash_map<std::string, std::unique_ptr<Destination>> destinations_;
  // One entry for each destination that has requests queued and is under
  // its cap.
  std::vector<Ready> ready_;
  uint64_t next_sequence_ = 0;
  size_t queued_ = 0;
  int started_ = 0;
};

}  // namespace webhooks::delivery

#endif  // WEBHOOKS_DELIVERY_SCHEDULER_H_
