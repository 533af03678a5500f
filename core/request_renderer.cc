#include "core/request_renderer.h"

#include <utility>

#include "common/status_macros.h"
#include "common/strings.h"
#include "core/dialect_catalog.h"

namespace webhooks::core {
namespace {

// A JSON string literal of `s` (quotes included).
std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string EventTypeName(const internal::EventRecord& event) {
  // Both arms views: `cond ? "" : a_string` would be a temporary std::string
  // the view outlives.
  const std::string_view resource = event.resource_types().empty()
                                        ? std::string_view()
                                        : std::string_view(event.resource_types(0));
  const std::string_view kind = event.event_types().empty()
                                    ? std::string_view()
                                    : std::string_view(event.event_types(0));
  return StrCat(resource, ".", kind);
}

// The previous secret while a rotation's overlap lasts, else empty.
std::string_view PreviousSigningSecret(
    const internal::SubscriptionRecord& subscription, absl::Time now) {
  if (subscription.previous_secret_expire_micros() <= absl::ToUnixMicros(now)) {
    return {};
  }
  return subscription.previous_secret();
}

// The event's representation `name`; FAILED_PRECONDITION naming both when
// the event lacks it.
absl::StatusOr<const internal::RepresentationRecord*> RepresentationOf(
    const internal::EventRecord& event, std::string_view name) {
  auto it = event.representations().find(std::string(name));
  if (it == event.representations().end()) {
    return absl::FailedPreconditionError(StrCat(
        "event \"", event.id(), "\" has no representation \"", name, "\""));
  }
  return &it->second;
}

// `representation` of `event` in the Standard Webhooks JSON envelope.
std::string StandardEnvelope(
    const internal::EventRecord& event,
    const internal::RepresentationRecord& representation) {
  return StrCat(
      "{\"type\":", JsonString(EventTypeName(event)), ",\"timestamp\":",
      JsonString(absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ",
                                  absl::FromUnixMicros(event.occur_time_micros()),
                                  absl::UTCTimeZone())),
      ",\"data\":", representation.body().empty() ? "null" : representation.body(),
      "}");
}

// The body for `representation` of `event` in `envelope` (RenderBody).
std::string BodyOf(const internal::EventRecord& event,
                   const internal::RepresentationRecord& representation,
                   int envelope) {
  if (envelope != kEnvelopeStandardJson) return representation.body();
  return StandardEnvelope(event, representation);
}

}  // namespace

std::vector<std::string> SigningSecrets(
    const internal::SubscriptionRecord& subscription, absl::Time now) {
  std::vector<std::string> secrets = {subscription.secret()};
  if (const std::string_view previous = PreviousSigningSecret(subscription, now);
      !previous.empty()) {
    secrets.emplace_back(previous);
  }
  return secrets;
}

bool SameSigningSecrets(const internal::SubscriptionRecord& subscription,
                        absl::Time now, std::string_view secret,
                        std::string_view previous) {
  return subscription.secret() == secret &&
         PreviousSigningSecret(subscription, now) == previous;
}

absl::StatusOr<std::string> RenderBody(const internal::EventRecord& event,
                                       std::string_view representation_name,
                                       int envelope) {
  ASSIGN_OR_RETURN(const internal::RepresentationRecord* representation,
                   RepresentationOf(event, representation_name));
  return BodyOf(event, *representation, envelope);
}

void AppendRequestHeaders(const internal::RequestHeadersReference& standard,
                          std::string_view delivery_id, int64_t timestamp,
                          std::string signature, HttpHeaders& to) {
  to.reserve(to.size() + 5 + static_cast<size_t>(standard.dialect_headers_size()));
  to.emplace_back("Content-Type", standard.content_type());
  to.emplace_back("User-Agent", standard.user_agent());
  for (const internal::HeaderRecord& header : standard.dialect_headers()) {
    to.emplace_back(header.name(), header.value());
  }
  // webhook-id and webhook-timestamp always: receivers de-duplicate on the
  // id, which is stable across retries.
  to.emplace_back("webhook-id", delivery_id);
  to.emplace_back("webhook-timestamp", StrCat(timestamp));
  if (standard.signature_sent()) {
    to.emplace_back("webhook-signature", std::move(signature));
  }
}

absl::StatusOr<HttpRequest> RenderRequest(
    const internal::DeliveryRecord& delivery,
    const std::shared_ptr<const internal::EventRecord>& shared_event,
    const internal::DialectRecord& dialect, const WebhookSigner& signer,
    absl::Time now, internal::RequestHeadersReference* standard) {
  const internal::EventRecord& event = *shared_event;
  ASSIGN_OR_RETURN(const internal::RepresentationRecord* found,
                   RepresentationOf(event, delivery.representation()));
  const internal::RepresentationRecord& representation = *found;
  HttpRequest request;
  // Raw: the representation's bytes as stored, shared with the event (a
  // fan-out's requests point at one copy).
  request.body =
      dialect.envelope() == kEnvelopeStandardJson
          ? RequestBody(StandardEnvelope(event, representation))
          : RequestBody::Shared(shared_event, &representation.body());
  request.url = delivery.target_url();
  request.method = dialect.http_method().empty() ? "POST" : dialect.http_method();
  internal::RequestHeadersReference local;
  internal::RequestHeadersReference& made = standard != nullptr ? *standard : local;
  made.Clear();
  made.set_content_type(dialect.envelope() == kEnvelopeStandardJson ||
                                representation.content_type().empty()
                            ? dialect.content_type()
                            : representation.content_type());
  made.set_user_agent(dialect.user_agent());
  for (const auto& [name, value] : dialect.headers()) {
    internal::HeaderRecord& header = *made.add_dialect_headers();
    header.set_name(name);
    header.set_value(value);
  }
  made.set_signature_sent(dialect.signing() != kSigningNone);
  const int64_t timestamp = absl::ToUnixSeconds(now);
  std::string signature;
  if (made.signature_sent()) {
    ASSIGN_OR_RETURN(signature,
                     signer.Header(delivery.id(), timestamp, request.body));
  }
  AppendRequestHeaders(made, delivery.id(), timestamp, std::move(signature),
                       request.headers);
  return request;
}

}  // namespace webhooks::core
