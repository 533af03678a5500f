#include "core/event_validation.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/random.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "core/errors.h"
#include "core/site_path.h"
#include "core/validation.h"

namespace webhooks::core {
namespace {

constexpr std::string_view kEventIdPrefix = "evt_";
constexpr std::string_view kAnyPermission = "*";

// Printable ASCII shown quoted, anything else as a hex escape.
std::string DescribeChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7f) return StrCat("'", std::string_view(&c, 1), "'");
  return absl::StrFormat("byte 0x%02X", u);
}

// A caller-chosen identifier: [A-Za-z0-9_.:-], 1..max bytes.
absl::Status ValidateIdText(std::string_view field, std::string_view id,
                            int max) {
  if (id.empty()) return error::RequiredField(field);
  if (id.size() > static_cast<size_t>(max)) {
    return error::FieldTooLong(field, static_cast<size_t>(max));
  }
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                    c == ':' || c == '-';
    if (!ok) {
      return error::InvalidField(
          field, StrCat("not a valid id: contains ", DescribeChar(c),
                        "; allowed are A-Z a-z 0-9 _ . : -"));
    }
  }
  return absl::OkStatus();
}

// `list` holds 1..limits.max_type_list distinct type tokens (no wildcard).
// `what` names the items in messages ("resource types").
template <typename List>
absl::Status ValidateTypeList(std::string_view field, std::string_view what,
                              const List& list, const Limits& limits) {
  if (list.empty()) return error::RequiredField(field);
  if (list.size() > limits.max_type_list) {
    return error::LimitExceeded(field,
                                static_cast<size_t>(limits.max_type_list),
                                StrCat(what, " (got ", list.size(), ")"));
  }
  for (int i = 0; i < list.size(); ++i) {
    const std::string item = StrCat(field, "[", i, "]");
    const std::string& value = list[i];
    if (value == "*") {
      return error::InvalidField(
          item,
          "the wildcard \"*\" is for subscriptions; an event lists the "
          "concrete types it provides");
    }
    RETURN_IF_ERROR(
        ValidateTypeToken(item, value, /*allow_wildcard=*/false, limits));
    for (int j = 0; j < i; ++j) {
      if (list[j] == value) {
        return error::InvalidField(
            item,
            StrCat("\"", value, "\" is listed twice (also at [", j, "])"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRepresentations(std::string_view prefix,
                                     const EventRecord& event,
                                     const Limits& limits) {
  const std::string field = StrCat(prefix, ".representations");
  const auto& representations = event.representations();
  if (representations.size() >
      static_cast<size_t>(limits.max_representations)) {
    return error::LimitExceeded(
        field, static_cast<size_t>(limits.max_representations),
        StrCat("representations (got ", representations.size(), ")"));
  }
  // Map order is unspecified: check names in sorted order so the error
  // reported for a request is always the same.
  std::vector<
      std::pair<std::string_view, const internal::RepresentationRecord*>>
      sorted;
  sorted.reserve(representations.size());
  bool has_delivery = false;
  for (const auto& [name, representation] : representations) {
    sorted.emplace_back(name, &representation);
    has_delivery = has_delivery || name == kDeliveryRepresentation;
  }
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [name, record] : sorted) {
    const internal::RepresentationRecord& representation = *record;
    const std::string item =
        StrCat(field, "[\"", absl::CEscape(AsAbsl(name)), "\"]");
    RETURN_IF_ERROR(
        ValidateTypeToken(item, name, /*allow_wildcard=*/false, limits));
    const size_t body_size = representation.body().size();
    if (body_size > static_cast<size_t>(limits.max_representation_bytes)) {
      return error::LimitExceeded(
          StrCat(item, ".body"),
          static_cast<size_t>(limits.max_representation_bytes),
          StrCat("bytes (got ", body_size, ")"));
    }
    if (!representation.content_type().empty()) {
      RETURN_IF_ERROR(ValidateHeader(StrCat(item, ".content_type"),
                                     "Content-Type",
                                     representation.content_type(), limits));
    }
  }
  if (!has_delivery) {
    return error::InvalidField(
        field, StrCat("the \"", kDeliveryRepresentation,
                      "\" representation is required (the fallback of every "
                      "dialect)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateAcl(std::string_view prefix, const EventRecord& event,
                         const Limits& limits) {
  const std::string field = StrCat(prefix, ".acl");
  if (event.acl_size() > limits.max_acl_entries) {
    return error::LimitExceeded(field,
                                static_cast<size_t>(limits.max_acl_entries),
                                StrCat("entries (got ", event.acl_size(), ")"));
  }
  for (int i = 0; i < event.acl_size(); ++i) {
    const internal::AclEntryRecord& entry = event.acl(i);
    const std::string item = StrCat(field, "[", i, "]");
    RETURN_IF_ERROR(ValidatePrincipalId(StrCat(item, ".principal"),
                                        entry.principal(), limits));
    if (entry.permission() != kAnyPermission) {
      RETURN_IF_ERROR(ValidatePermission(StrCat(item, ".permission"),
                                         entry.permission(), limits));
    }
  }
  return absl::OkStatus();
}

}  // namespace

// Checks everything before changing anything, so a refused event is left as
// the caller sent it and no randomness is used for it.
absl::Status NormalizeEvent(std::string_view prefix, EventRecord& event,
                            const Limits& limits, const Clock& clock,
                            RandomSource& random) {
  if (!event.id().empty()) {
    RETURN_IF_ERROR(ValidateIdText(StrCat(prefix, ".id"), event.id(),
                                   limits.max_event_id_length));
  }

  const std::string site_field = StrCat(prefix, ".site");
  if (event.site().empty()) return error::RequiredField(site_field);
  ASSIGN_OR_RETURN(std::string site,
                   NormalizeSite(site_field, event.site(), limits));
  std::string active_site;
  if (!event.active_site().empty()) {
    ASSIGN_OR_RETURN(active_site, NormalizeSite(StrCat(prefix, ".active_site"),
                                                event.active_site(), limits));
  }

  RETURN_IF_ERROR(ValidateTypeList(StrCat(prefix, ".resource_types"),
                                   "resource types", event.resource_types(),
                                   limits));
  RETURN_IF_ERROR(ValidateTypeList(StrCat(prefix, ".event_types"),
                                   "event types", event.event_types(), limits));
  RETURN_IF_ERROR(ValidateRepresentations(prefix, event, limits));
  RETURN_IF_ERROR(ValidateAcl(prefix, event, limits));

  event.set_site(std::move(site));
  event.set_active_site(std::move(active_site));
  const absl::Time now = clock.Now();
  if (event.id().empty()) {
    event.set_id(NewId(kEventIdPrefix, absl::ToUnixMillis(now), random));
  }
  if (event.occur_time_micros() == 0) {
    event.set_occur_time_micros(absl::ToUnixMicros(now));
  }
  return absl::OkStatus();
}

absl::Status ValidateTransactionId(std::string_view field, std::string_view id,
                                   const Limits& limits) {
  return ValidateIdText(field, id, limits.max_transaction_id_length);
}

}  // namespace webhooks::core
