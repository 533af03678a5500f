// Renders a delivery as the HTTP request its subscription's dialect asks
// for: method, URL, Content-Type, User-Agent, the dialect's extra headers,
// the Standard Webhooks headers (webhook-id is the delivery id, stable
// across retries), and the body from the chosen representation, optionally
// wrapped in the Standard Webhooks JSON envelope. An attempt records the
// headers by reference (core/attempt_headers.h), the signature redacted.
//
//   WebhookSigner signer(SigningSecrets(subscription, now));
//   std::shared_ptr<const EventRecord> event = ...;
//   ASSIGN_OR_RETURN(HttpRequest request,
//                    RenderRequest(delivery, event, dialect, signer, now));
#ifndef WEBHOOKS_CORE_REQUEST_RENDERER_H_
#define WEBHOOKS_CORE_REQUEST_RENDERER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/http_sender.h"
#include "core/webhook_signer.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::core {

inline constexpr std::string_view kRedacted = "[redacted]";

// The secrets that sign now: the current one, then the previous one while
// its overlap lasts.
std::vector<std::string> SigningSecrets(
    const internal::SubscriptionRecord& subscription, absl::Time now);

// True when `secret`, `previous` and `previous_expire_micros` name the
// secrets SigningSecrets gives at `now`: a signer built from them still
// signs as the subscription does.
bool SameSigningSecrets(const internal::SubscriptionRecord& subscription,
                        absl::Time now, std::string_view secret,
                        std::string_view previous);

// The body of a request for `event`'s representation `representation_name`
// in `envelope` (a DialectEnvelope): the representation's body, or the
// Standard Webhooks JSON envelope around it. FAILED_PRECONDITION when the
// event lacks that representation.
absl::StatusOr<std::string> RenderBody(const internal::EventRecord& event,
                                       std::string_view representation_name,
                                       int envelope);

// The headers of a request, in order (internal::RequestHeadersReference):
// `standard`'s Content-Type, User-Agent and dialect headers, then webhook-id
// (`delivery_id`), webhook-timestamp (`timestamp`, Unix seconds) and, when
// `standard.signature_sent()`, webhook-signature (`signature`). Rendering
// and reading an attempt back both build them here, so the two agree.
void AppendRequestHeaders(const internal::RequestHeadersReference& standard,
                          std::string_view delivery_id, int64_t timestamp,
                          std::string signature, HttpHeaders& to);

// FAILED_PRECONDITION when the event lacks the delivery's representation
// (events always carry webhook-delivery, so only a corrupt store does that);
// the signer's error when the dialect signs and a secret is malformed.
// `signer` holds the subscription's SigningSecrets. When `standard` is not
// null it is set to what the headers were made of, for the attempt record.
// In the raw envelope the request's body shares the representation's bytes
// with `event` (not null), which it keeps alive.
absl::StatusOr<HttpRequest> RenderRequest(
    const internal::DeliveryRecord& delivery,
    const std::shared_ptr<const internal::EventRecord>& event,
    const internal::DialectRecord& dialect,
    const WebhookSigner& signer, absl::Time now,
    internal::RequestHeadersReference* standard = nullptr);

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_REQUEST_RENDERER_H_
