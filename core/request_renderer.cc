#include "core/request_renderer.h"

#include "absl/strings/match.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "core/attempt_outcome.h"
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

// The body for `representation` of `event` in `envelope` (RenderBody).
std::string BodyOf(const internal::EventRecord& event,
                   const internal::RepresentationRecord& representation,
                   int envelope) {
  if (envelope != kEnvelopeStandardJson) return representation.body();
  return StrCat(
      "{\"type\":", JsonString(EventTypeName(event)), ",\"timestamp\":",
      JsonString(absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ",
                                  absl::FromUnixMicros(event.occur_time_micros()),
                                  absl::UTCTimeZone())),
      ",\"data\":", representation.body().empty() ? "null" : representation.body(),
      "}");
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

absl::StatusOr<HttpRequest> RenderRequest(
    const internal::DeliveryRecord& delivery,
    const internal::EventRecord& event, const internal::DialectRecord& dialect,
    const WebhookSigner& signer, absl::Time now) {
  ASSIGN_OR_RETURN(const internal::RepresentationRecord* found,
                   RepresentationOf(event, delivery.representation()));
  const internal::RepresentationRecord& representation = *found;
  HttpRequest request;
  request.body = BodyOf(event, representation, dialect.envelope());
  request.url = delivery.target_url();
  request.method = dialect.http_method().empty() ? "POST" : dialect.http_method();
  const std::string& content_type = dialect.envelope() == kEnvelopeStandardJson ||
                                            representation.content_type().empty()
                                        ? dialect.content_type()
                                        : representation.content_type();
  request.headers.reserve(5 + static_cast<size_t>(dialect.headers_size()));
  request.headers.emplace_back("Content-Type", content_type);
  request.headers.emplace_back("User-Agent", dialect.user_agent());
  for (const auto& [name, value] : dialect.headers()) {
    request.headers.emplace_back(name, value);
  }
  // webhook-id and webhook-timestamp always: receivers de-duplicate on the
  // id, which is stable across retries.
  const int64_t timestamp = absl::ToUnixSeconds(now);
  request.headers.emplace_back("webhook-id", delivery.id());
  request.headers.emplace_back("webhook-timestamp", StrCat(timestamp));
  if (dialect.signing() != kSigningNone) {
    ASSIGN_OR_RETURN(std::string signature,
                     signer.Header(delivery.id(), timestamp, request.body));
    request.headers.emplace_back("webhook-signature", std::move(signature));
  }
  return request;
}

void CopyRedactedHeaders(
    const HttpHeaders& headers,
    google::protobuf::RepeatedPtrField<internal::HeaderRecord>* to) {
  const int first = to->size();
  CopyHeaders(headers, to);
  for (int i = first; i < to->size(); ++i) {
    internal::HeaderRecord& header = (*to)[i];
    if (absl::EqualsIgnoreCase(header.name(), "webhook-signature")) {
      header.set_value(std::string(kRedacted));
    }
  }
}

}  // namespace webhooks::core
