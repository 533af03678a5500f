#include "core/attempt_body.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/attempt_headers.h"
#include "core/delivery_events.h"
#include "core/request_renderer.h"

namespace webhooks::core {

using internal::AttemptRecord;
using internal::EventRecord;

void ReferToRequestBody(const internal::DeliveryRecord& delivery,
                        const std::string& event_key, int envelope,
                        size_t max_bytes, AttemptRecord& attempt) {
  attempt.clear_request_body();
  internal::RequestBodyReference& reference =
      *attempt.mutable_request_body_reference();
  reference.set_event_key(event_key);
  reference.set_representation(delivery.representation());
  reference.set_envelope(envelope);
  reference.set_max_bytes(max_bytes);
}

void FillRequestBody(const EventRecord* event, AttemptRecord& attempt) {
  FillRequestHeaders(attempt);
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
  DeliveryEvents events(&store);
  std::vector<std::string> keys;
  for (AttemptRecord& attempt : attempts) {
    FillRequestHeaders(attempt);
    if (attempt.has_request_body_reference()) {
      keys.push_back(attempt.request_body_reference().event_key());
    }
  }
  if (keys.empty()) return absl::OkStatus();
  events.PrefetchKeys(std::move(keys));
  for (AttemptRecord& attempt : attempts) {
    if (!attempt.has_request_body_reference()) continue;
    absl::StatusOr<std::shared_ptr<const EventRecord>> event =
        events.GetByKey(attempt.request_body_reference().event_key());
    // A corrupt event gives no body: it reads as forgotten.
    if (!event.ok() && !absl::IsDataLoss(event.status())) return event.status();
    FillRequestBody(event.ok() ? event->get() : nullptr, attempt);
  }
  return absl::OkStatus();
}

}  // namespace webhooks::core
