#include "core/event_payloads.h"

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
  parsed.status = parsed.payload.Parse(body->second.body());
  return parsed;
}

}  // namespace webhooks::core
