#include "core/attempt_body.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/delivery_events.h"
#include "core/request_renderer.h"

namespace webhooks::core {

using internal::AttemptRecord;
using internal::EventRecord;

void ReferToRequestBody(const internal::DeliveryRecord& delivery, int envelope,
                        size_t max_bytes, AttemptRecord& attempt) {
  attempt.clear_request_body();
  internal::RequestBodyReference& reference =
      *attempt.mutable_request_body_reference();
  reference.set_event_key(DeliveryEvents::KeyOf(delivery));
  reference.set_representation(delivery.representation());
  reference.set_envelope(envelope);
  reference.set_max_bytes(max_bytes);
}

void FillRequestBody(const EventRecord* event, AttemptRecord& attempt) {
  if (!attempt.has_request_body_reference()) return;
  const internal::RequestBodyReference& reference =
      attempt.request_body_reference();
  absl::StatusOr<std::string> body = absl::NotFoundError("no event");
  if (event != nullptr) {
    body = RenderBody(*event, reference.representation(), reference.envelope());
  }
  if (!body.ok()) {  // the event is gone, or lacks the representation
    attempt.clear_request_body();
    attempt.set_request_body_forgotten(true);
    return;
  }
  body->resize(std::min<size_t>(body->size(), reference.max_bytes()));
  attempt.set_request_body(*std::move(body));
  attempt.set_request_body_forgotten(false);
}

absl::Status FillRequestBodies(const storage::Store& store,
                               std::span<AttemptRecord> attempts) {
  std::vector<std::string> keys;
  absl::flat_hash_map<std::string, std::optional<EventRecord>> events;
  for (const AttemptRecord& attempt : attempts) {
    if (!attempt.has_request_body_reference()) continue;
    const std::string& key = attempt.request_body_reference().event_key();
    if (events.emplace(key, std::nullopt).second) keys.push_back(key);
  }
  if (keys.empty()) return absl::OkStatus();
  absl::StatusOr<std::vector<std::optional<std::string>>> values =
      store.MultiGet(storage::Column::kTransactionEvents, keys);
  if (!values.ok()) return values.status();
  for (size_t i = 0; i < keys.size() && i < values->size(); ++i) {
    if (!(*values)[i].has_value()) continue;
    EventRecord event;
    // A corrupt event gives no body: it reads as forgotten.
    if (event.ParseFromString(*(*values)[i])) events[keys[i]] = std::move(event);
  }
  for (AttemptRecord& attempt : attempts) {
    if (!attempt.has_request_body_reference()) continue;
    const std::optional<EventRecord>& event =
        events[attempt.request_body_reference().event_key()];
    FillRequestBody(event.has_value() ? &*event : nullptr, attempt);
  }
  return absl::OkStatus();
}

}  // namespace webhooks::core
