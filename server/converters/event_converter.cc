#include "server/converters/event_converter.h"

#include "common/strings.h"
#include "core/errors.h"
#include "server/converters/time_converter.h"

namespace webhooks::server {
namespace {

// 9999-12-31T23:59:59Z, the last second google.protobuf.Timestamp allows.
constexpr int64_t kMaxTimestampSeconds = 253402300799;
// google.protobuf.Duration allows about 10,000 years.
constexpr int64_t kMaxDurationSeconds = 315576000000;
constexpr int32_t kMaxNanos = 999999999;

}  // namespace

absl::StatusOr<core::EventRecord> EventFromApi(std::string_view prefix,
                                               const v1::Event& api) {
  core::EventRecord record;
  record.set_id(api.id());
  record.set_site(api.site());
  record.set_active_site(api.active_site());
  *record.mutable_resource_types() = api.resource_types();
  *record.mutable_event_types() = api.event_types();
  for (const auto& [name, representation] : api.representations()) {
    internal::RepresentationRecord& out = (*record.mutable_representations())[name];
    out.set_body(representation.body());
    out.set_content_type(representation.content_type());
  }
  for (int i = 0; i < api.acl_size(); ++i) {
    const v1::AclEntry& entry = api.acl(i);
    if (entry.action() != v1::AclEntry::ALLOW &&
        entry.action() != v1::AclEntry::DENY) {
      return core::error::InvalidField(
          StrCat(prefix, ".acl[", i, "].action"), "must be ALLOW or DENY");
    }
    internal::AclEntryRecord* out = record.add_acl();
    out->set_allow(entry.action() == v1::AclEntry::ALLOW);
    out->set_principal(entry.principal());
    out->set_permission(entry.permission());
  }
  if (api.has_occur_time()) {
    const google::protobuf::Timestamp& t = api.occur_time();
    if (t.seconds() < 0 || t.seconds() > kMaxTimestampSeconds) {
      return core::error::InvalidField(
          StrCat(prefix, ".occur_time"),
          "must be from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z");
    }
    if (t.nanos() < 0 || t.nanos() > kMaxNanos) {
      return core::error::InvalidField(StrCat(prefix, ".occur_time.nanos"),
                                       "must be from 0 to 999999999");
    }
    record.set_occur_time_micros(
        google::protobuf::util::TimeUtil::TimestampToMicroseconds(
            api.occur_time()));
  }
  return record;
}

absl::StatusOr<std::optional<absl::Duration>> TtlFromApi(
    const v1::PrepareRequest& request) {
  if (!request.has_ttl()) return std::nullopt;
  const google::protobuf::Duration& d = request.ttl();
  if (d.nanos() < -kMaxNanos || d.nanos() > kMaxNanos ||
      (d.seconds() > 0 && d.nanos() < 0) ||
      (d.seconds() < 0 && d.nanos() > 0)) {
    return core::error::InvalidField(
        "ttl.nanos", "must be from -999999999 to 999999999, with the sign of "
                     "ttl.seconds");
  }
  // Beyond what a Duration may hold, as far beyond any maximum: the domain
  // says "at most ..." (absl::Duration holds every int64 of seconds).
  const int64_t seconds =
      d.seconds() > kMaxDurationSeconds ? kMaxDurationSeconds + 1 : d.seconds();
  return absl::Seconds(seconds) + absl::Nanoseconds(d.nanos());
}

v1::Transaction TransactionToApi(const core::TransactionRecord& record) {
  v1::Transaction api;
  api.set_id(record.id());
  api.set_owner(record.owner());
  api.set_state(static_cast<v1::Transaction::State>(record.state()));
  api.set_event_count(record.event_count());
  api.set_delivery_count(record.delivery_count());
  SetTimestamp(record.create_time_micros(), api,
               &v1::Transaction::mutable_create_time);
  SetTimestamp(record.expire_time_micros(), api,
               &v1::Transaction::mutable_expire_time);
  SetTimestamp(record.resolve_time_micros(), api,
               &v1::Transaction::mutable_resolve_time);
  return api;
}

v1::SubscriptionMatch MatchToApi(const core::Candidate& candidate) {
  v1::SubscriptionMatch api;
  v1::Subscription* s = api.mutable_subscription();
  const core::IndexEntry& e = candidate.subscription;
  s->set_id(e.id);
  s->set_site(e.site);
  s->set_resource_type(e.resource_type);
  s->set_event_type(e.event_type);
  s->set_target_url(e.target_url);
  s->set_owner(e.owner);
  s->set_permission(e.permission);
  s->set_dialect(e.dialect);
  if (e.filter != nullptr) s->set_filter(e.filter->source());
  s->set_active(e.active);
  using Verdict = core::Candidate::Verdict;
  switch (candidate.verdict) {
    case Verdict::kDelivered:
      api.set_verdict(v1::SubscriptionMatch::DELIVERED);
      break;
    case Verdict::kDeniedByAcl:
      api.set_verdict(v1::SubscriptionMatch::DENIED_BY_ACL);
      break;
    case Verdict::kNoGrant:
      api.set_verdict(v1::SubscriptionMatch::NO_GRANT);
      break;
    case Verdict::kInactive:
      api.set_verdict(v1::SubscriptionMatch::INACTIVE);
      break;
    case Verdict::kDuplicateUrl:
      api.set_verdict(v1::SubscriptionMatch::DUPLICATE_URL);
      break;
    case Verdict::kFilteredOut:
      api.set_verdict(v1::SubscriptionMatch::FILTERED_OUT);
      break;
  }
  api.set_reason(candidate.reason);
  api.set_acl_entry_index(candidate.acl_entry_index);
  return api;
}

}  // namespace webhooks::server
