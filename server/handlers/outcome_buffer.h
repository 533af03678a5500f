// What one WatchOutcomes stream holds for a slow reader: at most
// kMaxMessages outcomes and kMaxBytes of them (serialized size); past either
// bound the oldest go, and the next outcome taken says how many
// (Outcome.dropped). Not thread-safe: OutcomeWatcher locks around it.
//
//   buffer.Push(OutcomeToApi(notice));
//   if (std::optional<v1::Outcome> next = buffer.Pop()) StartWrite(...);
#ifndef WEBHOOKS_SERVER_HANDLERS_OUTCOME_BUFFER_H_
#define WEBHOOKS_SERVER_HANDLERS_OUTCOME_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "webhooks/v1/delivery.pb.h"

namespace webhooks::server {

class OutcomeBuffer {
 public:
  static constexpr size_t kMaxMessages = 1024;
  static constexpr size_t kMaxBytes = 256 << 10;

  OutcomeBuffer() = default;
  OutcomeBuffer(size_t max_messages, size_t max_bytes)
      : max_messages_(max_messages), max_bytes_(max_bytes) {}

  // Keeps `outcome`, dropping the oldest as needed. An outcome larger than
  // the byte bound by itself is kept alone.
  void Push(v1::Outcome outcome);
  // The oldest outcome, with `dropped` set to the outcomes dropped since the
  // last Pop; nullopt when empty.
  std::optional<v1::Outcome> Pop();
  // Frees what is held (its memory too).
  void Clear();

  size_t size() const { return entries_.size(); }
  size_t bytes() const { return bytes_; }
  int64_t dropped() const { return dropped_; }

 private:
  struct Entry {
    v1::Outcome outcome;
    size_t bytes;
  };
  void DropOldest();

  size_t max_messages_ = kMaxMessages;
  size_t max_bytes_ = kMaxBytes;
  std::deque<Entry> entries_;
  size_t bytes_ = 0;
  int64_t dropped_ = 0;
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HANDLERS_OUTCOME_BUFFER_H_
