#include "core/event_payloads.h"

#include <algorithm>

#include "core/event_validation.h"

namespace webhooks::core {

void EventPayloads::Reset(const internal::EventRecord* event) {
  event_ = event;
  used_ = 0;
}

const EventPayloads::Parsed& EventPayloads::Get(
    std::string_view representation) {
  const auto& bodies = event_->representations();
  auto body = bodies.find(representation);
  if (body == bodies.end()) {
    representation = kDeliveryRepresentation;
    body = bodies.find(representation);
  }
  for (size_t i = 0; i < used_; ++i) {
    if (slots_[i]->representation == representation) return *slots_[i];
  }
  if (used_ == slots_.size()) slots_.push_back(std::make_unique<Parsed>());
  Parsed& parsed = *slots_[used_++];
  parsed.representation.assign(representation);
  if (body == bodies.end()) {
    parsed.status = absl::FailedPreconditionError(
        "is missing from the event");
    parsed.payload.Clear();
    return parsed;
  }
  parsed.largest = std::max(parsed.largest, body->second.body().size());
  parsed.status = parsed.payload.Parse(body->second.body());
  return parsed;
}

void EventPayloads::Shrink(size_t max_bytes) {
  for (std::unique_ptr<Parsed>& slot : slots_) {
    if (slot->largest > max_bytes) slot = std::make_unique<Parsed>();
  }
  used_ = 0;
}

}  // namespace webhooks::core
