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
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "delivery/transfer.h"

namespace webhooks::delivery {

class Scheduler {
 public:
  // Both caps are at least 1.
  Scheduler(int max_in_flight, int max_per_destination);

  // Queues `pending` (keyed by pending.checked.destination).
  void Push(Pending pending);
  // The next request to start, counted as started; nullopt when none may
  // start now.
  std::optional<Pending> Next();
  // A started request to `destination` has ended.
  void Finished(const std::string& destination);
  // Removes and returns every queued (not started) request, oldest first.
  std::vector<Pending> TakeQueued();

  size_t queued() const { return queued_; }
  int started() const { return started_; }
  // Started requests to `destination`.
  int started(const std::string& destination) const;

 private:
  struct Destination {
    std::deque<std::pair<uint64_t, Pending>> queue;  // (sequence, request)
    int started = 0;
  };

  const int max_in_flight_;
  const int max_per_destination_;
  std::map<std::string, Destination> destinations_;
  // (sequence of the head, destination) for each destination that has
  // requests queued and is under its cap.
  std::set<std::pair<uint64_t, std::string>> ready_;
  uint64_t next_sequence_ = 0;
  size_t queued_ = 0;
  int started_ = 0;
};

}  // namespace webhooks::delivery

#endif  // WEBHOOKS_DELIVERY_SCHEDULER_H_
