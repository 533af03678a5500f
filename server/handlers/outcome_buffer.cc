#include "server/handlers/outcome_buffer.h"

#include <utility>

namespace webhooks::server {

void OutcomeBuffer::Push(v1::Outcome outcome) {
  const size_t size = outcome.ByteSizeLong();
  while (!entries_.empty() && (entries_.size() >= max_messages_ ||
                               bytes_ + size > max_bytes_)) {
    DropOldest();
  }
  bytes_ += size;
  entries_.push_back(Entry{std::move(outcome), size});
}

std::optional<v1::Outcome> OutcomeBuffer::Pop() {
  if (entries_.empty()) return std::nullopt;
  Entry entry = std::move(entries_.front());
  entries_.pop_front();
  bytes_ -= entry.bytes;
  entry.outcome.set_dropped(dropped_);
  dropped_ = 0;
  if (entries_.empty()) std::deque<Entry>().swap(entries_);  // its blocks too
  return std::move(entry.outcome);
}

void OutcomeBuffer::Clear() {
  std::deque<Entry>().swap(entries_);
  bytes_ = 0;
}

void OutcomeBuffer::DropOldest() {
  bytes_ -= entries_.front().bytes;
  entries_.pop_front();
  ++dropped_;
}

}  // namespace webhooks::server
