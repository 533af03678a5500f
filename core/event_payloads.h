// The JSON bodies of one event's representations, for payload filters: each
// parsed once, on first use, however many subscriptions test it. Reused
// from event to event (the parsers keep their buffers).
//
//   EventPayloads payloads;
//   payloads.Reset(&event);
//   const EventPayloads::Parsed& p = payloads.Get("webhook-delivery");
//   if (p.status.ok() && filter->Passes(p.payload)) ...
//
// Not thread-safe: one per thread (the matcher keeps one in its scratch).
#ifndef WEBHOOKS_CORE_EVENT_PAYLOADS_H_
#define WEBHOOKS_CORE_EVENT_PAYLOADS_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "core/payload_filter.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::core {

class EventPayloads {
 public:
  struct Parsed {
    std::string representation;  // the one parsed (after the fallback)
    JsonPayload payload;
    absl::Status status;  // why it did not parse
    size_t largest = 0;   // bytes of the largest body this parser took
  };

  // Starts over with `event` (which must outlive the use); nothing parsed.
  void Reset(const internal::EventRecord* event);

  // The named representation's body, parsed. An event lacking it is tested
  // on its `webhook-delivery` representation, as deliveries are rendered.
  const Parsed& Get(std::string_view representation);

  // How many bodies were parsed since Reset (for tests).
  size_t parsed() const { return used_; }

  // Drops the parsers that took a body over `max_bytes` (their buffers grow
  // with the largest body), so one huge event does not pin its memory.
  void Shrink(size_t max_bytes);

 private:
  const internal::EventRecord* event_ = nullptr;
  std::vector<std::unique_ptr<Parsed>> slots_;
  size_t used_ = 0;
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_EVENT_PAYLOADS_H_
