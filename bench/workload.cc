#include "bench/workload.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "common/strings.h"

namespace webhooks::bench {
namespace {

constexpr std::array<std::string_view, 32> kResourceTypes = {
    "employee", "user",     "principal", "group",    "document", "course",
    "invoice",  "ticket",   "order",     "product",  "project",  "task",
    "comment",  "file",     "folder",    "calendar", "meeting",  "message",
    "channel",  "team",     "role",      "device",   "license",  "report",
    "asset",    "contract", "payment",   "refund",   "shipment", "review",
    "survey",   "forecast"};
constexpr std::array<std::string_view, 8> kEventTypes = {
    "added",     "object_event", "modified", "removed",
    "published", "archived",     "restored", "moved"};
constexpr std::array<std::string_view, 5> kLevelNames = {
    "org", "region", "office", "dept", "team"};

// Subscriptions per site at depths 1, 2, 3 and 4 and below (above leaves).
int PerSite(int depth) {
  switch (depth) {
    case 1:
      return 20;
    case 2:
      return 10;
    case 3:
      return 5;
    default:
      return 2;
  }
}

// A counter-based generator: the same (seed, i) gives the same stream.
class SplitMix {
 public:
  SplitMix(uint64_t seed, uint64_t i) : state_(seed * 0x9E3779B97F4A7C15ull + i) {
    Next();
  }
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t state_;
};

}  // namespace

Workload::Workload(const WorkloadOptions& options) : options_(options) {
  options_.subscriptions = std::max<size_t>(options_.subscriptions, 2);
  owners_ = std::max<size_t>(1, options_.subscriptions / 10);
  leaves_ = SitesAt(options_.depth);
  const double scale =
      std::min(1.0, static_cast<double>(options_.subscriptions) / 100000.0);
  start_.assign(1, 0);
  start_.push_back(1);  // depth 0: the audit subscription
  size_t next = 1;
  for (int d = 1; d < options_.depth; ++d) {
    const auto count =
        static_cast<size_t>(scale * PerSite(d) * static_cast<double>(SitesAt(d)));
    next = std::min(next + count, options_.subscriptions / 2);
    start_.push_back(next);
  }
  start_.push_back(options_.subscriptions);  // the leaves take the rest
}

uint64_t Workload::SitesAt(int depth) const {
  uint64_t n = 1;
  for (int d = 0; d < depth; ++d) n *= static_cast<uint64_t>(options_.fanout);
  return n;
}

size_t Workload::site_count() const {
  size_t total = 0;
  for (int d = 0; d <= options_.depth; ++d) total += SitesAt(d);
  return total;
}

std::string Workload::Site(int depth, uint64_t n) const {
  if (depth == 0) return "/";
  std::string site;
  uint64_t divisor = SitesAt(depth - 1);
  for (int level = 1; level <= depth; ++level) {
    const uint64_t digit = (n / divisor) % static_cast<uint64_t>(options_.fanout);
    const std::string_view name =
        level <= static_cast<int>(kLevelNames.size()) ? kLevelNames[level - 1]
                                                      : "level";
    site += StrCat("/", name, digit);
    divisor /= static_cast<uint64_t>(options_.fanout);
  }
  return site;
}

SubscriptionSpec Workload::Subscription(size_t i) const {
  if (i == 0) {
    return SubscriptionSpec{.site = std::string("/"),
                            .resource_type = std::string("principal"),
                            .event_type = std::string("*"),
                            .owner = std::string(),
                            .target_url = std::string(
                                "https://audit.example.com/webhooks/all")};
  }
  SubscriptionSpec s;
  const int depth = static_cast<int>(
      std::upper_bound(start_.begin(), start_.end(), i) - start_.begin() - 1);
  SplitMix rng(options_.seed, i);
  s.site = Site(depth, rng.Below(SitesAt(depth)));
  s.resource_type = rng.Below(100) < 5
                        ? "*"
                        : std::string(kResourceTypes[rng.Below(32)]);
  s.event_type =
      rng.Below(100) < 10 ? "*" : std::string(kEventTypes[rng.Below(8)]);
  const size_t owner = rng.Below(owners_);
  s.owner = Owner(owner);
  s.target_url =
      StrCat("https://hooks.c", owner, ".example.com/webhooks/", i);
  return s;
}

std::string Workload::Owner(size_t i) { return StrCat("user", i); }

EventSpec Workload::RandomEvent(std::mt19937_64& rng, std::string id) const {
  EventSpec e;
  e.id = std::move(id);
  const uint64_t leaf = rng() % leaves_;
  e.site = Site(options_.depth, leaf);
  e.resource_types = {"employee", "user", "principal"};
  e.event_types = {"added", "object_event"};
  const uint64_t person = rng() % 1000000;
  e.body = StrCat(R"({"type":"employee","event":"added","id":"emp-)", person,
                  R"(","site":")", e.site, R"(","username":"jdoe)", person,
                  R"(","email":"jdoe)", person,
                  R"(@example.com","title":"Forecaster","active":true})");
  if (e.body.size() < 200) e.body.insert(e.body.size() - 1, 200 - e.body.size(), ' ');
  e.acl = {{false, "suspended", "*"}, {true, "system.Everyone", "view"}};
  return e;
}

internal::EventRecord Workload::ToRecord(const EventSpec& spec,
                                         int64_t occur_time_micros) {
  internal::EventRecord r;
  r.set_id(spec.id);
  r.set_site(spec.site);
  for (const std::string& t : spec.resource_types) r.add_resource_types(t);
  for (const std::string& t : spec.event_types) r.add_event_types(t);
  internal::RepresentationRecord& body =
      (*r.mutable_representations())[kDeliveryRepresentation];
  body.set_body(spec.body);
  body.set_content_type("application/json");
  for (const AclSpec& a : spec.acl) {
    internal::AclEntryRecord* entry = r.add_acl();
    entry->set_allow(a.allow);
    entry->set_principal(a.principal);
    entry->set_permission(a.permission);
  }
  r.set_occur_time_micros(occur_time_micros);
  return r;
}

core::IndexEntry Workload::ToIndexEntry(const SubscriptionSpec& spec,
                                        std::string id) {
  return core::IndexEntry{.id = std::move(id),
                          .site = spec.site,
                          .resource_type = spec.resource_type,
                          .event_type = spec.event_type,
                          .owner = spec.owner,
                          .permission = "view",
                          .target_url = spec.target_url,
                          .dialect = "default",
                          .active = true};
}

std::string DeliveryEventBody(int64_t seq, size_t bytes) {
  std::string body = StrCat(R"({"type":"employee","event":"added","seq":)", seq,
                            R"(,"id":"emp-)", seq,
                            R"(","name":"Ada Lovelace","title":"engineer",)"
                            R"("pad":""})");
  if (body.size() < bytes) body.insert(body.size() - 2, bytes - body.size(), '.');
  return body;
}

}  // namespace webhooks::bench
