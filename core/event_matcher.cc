#include "core/event_matcher.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/functional/function_ref.h"
#include "common/strings.h"
#include "core/event_payloads.h"
#include "core/event_validation.h"

// How a match runs: build the index query (candidate sites, the event's
// types), copy the visited subscriptions' strings out of the index into one
// text buffer (the index's reader lock is held only while it visits), then
// judge each candidate in index order: active, ACL, payload filter, duplicate
// target. The
// groups the ACL names are looked up once per event (under the directory's
// reader lock, held while judging), so a candidate's owner is tested against
// those groups' member sets rather than looked up itself. Callbacks run after
// judging, with no lock held. ForEachDelivery and Explain share the judging,
// so their verdicts cannot drift apart.
//
// Filters: the index hands out each filtered candidate's compiled filter;
// before judging, each filtered candidate's dialect is resolved to the
// representation it receives (once per dialect), and while judging, each
// representation's body is parsed once, when a candidate that passed the
// ACL first needs it. Events with no filtered candidate parse nothing.
//
// Speed: the query, the text buffer, the candidate list and the verdicts live
// in per-thread scratch space that keeps its capacity between calls, so a
// typical event allocates nothing.

namespace webhooks::core {
namespace {

using Verdict = Candidate::Verdict;

constexpr std::string_view kAnyPermission = "*";
constexpr size_t kNotFound = static_cast<size_t>(-1);

// Appends `site` and its ancestors (as SiteAncestors lists them) to the first
// `n` elements of `out`, reusing the strings already there; stops at the
// first one already listed, since its ancestors are then listed too.
void AppendSiteChain(std::string_view site, std::vector<std::string>& out,
                     size_t& n) {
  while (site.size() > 1 && site.back() == '/') site.remove_suffix(1);
  if (site.empty()) site = "/";
  for (;;) {
    const auto end = out.begin() + static_cast<std::ptrdiff_t>(n);
    if (std::find(out.begin(), end, site) != end) return;
    if (n < out.size()) {
      out[n].assign(site);
    } else {
      out.emplace_back(site);
    }
    ++n;
    if (site == "/") return;
    const size_t slash = site.rfind('/');
    site = (slash == 0 || slash == std::string_view::npos)
               ? std::string_view("/")
               : site.substr(0, slash);
  }
}

// Fills `out` with CandidateSites(site, active_site).
void FillCandidateSites(std::string_view site, std::string_view active_site,
                        std::vector<std::string>& out) {
  size_t n = 0;
  AppendSiteChain(site, out, n);
  if (!active_site.empty()) AppendSiteChain(active_site, out, n);
  out.resize(n);
}

// A string in Scratch::text.
struct Span {
  uint32_t pos = 0;
  uint32_t len = 0;
};

// One visited subscription, its strings in Scratch::text.
struct Hit {
  Span id, site, resource_type, event_type, owner, permission, target_url,
      dialect;
  bool active = true;
  PayloadFilterPtr filter;  // null: none
  Span representation;      // with a filter: the one it tests
};

struct Judgement {
  Verdict verdict = Verdict::kNoGrant;
  int acl_entry_index = -1;
  size_t duplicate_of = kNotFound;                  // for kDuplicateUrl
  const EventPayloads::Parsed* payload = nullptr;  // for kFilteredOut
};

// Per-thread buffers reused across calls.
struct Scratch {
  MatchQuery query;
  std::string text;
  std::vector<Hit> hits;
  std::vector<Judgement> judgements;
  Recipient recipient;
  EventPayloads payloads;
  std::string representation;  // RepresentationOf's buffer
};

// Takes the calling thread's scratch for the duration of a call and gives it
// back after, so a nested call (from a deliver callback) gets fresh buffers
// instead of clobbering ours.
class ScratchLease {
 public:
  ScratchLease() : scratch_(std::move(Local())) {
    scratch_.text.clear();
    scratch_.hits.clear();
    scratch_.judgements.clear();
  }
  ~ScratchLease() {
    // Keep what a typical event needs, not what the largest one took.
    if (scratch_.text.capacity() > kMaxKeptText) scratch_.text = std::string();
    scratch_.payloads.Shrink(kMaxKeptText);
    if (scratch_.hits.capacity() > kMaxKeptHits) {
      scratch_.hits = std::vector<Hit>();
      scratch_.judgements = std::vector<Judgement>();
    }
    Local() = std::move(scratch_);
  }
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;

  Scratch* operator->() { return &scratch_; }

 private:
  static constexpr size_t kMaxKeptText = 64 << 10;
  static constexpr size_t kMaxKeptHits = 1024;

  static Scratch& Local() {
    thread_local Scratch scratch;
    return scratch;
  }
  Scratch scratch_;
};

// The candidates of one event: the hits and the text they point into.
class Candidates {
 public:
  Candidates(const std::string& text, const std::vector<Hit>& hits)
      : text_(text), hits_(hits) {}
  size_t size() const { return hits_.size(); }
  const Hit& hit(size_t i) const { return hits_[i]; }
  std::string_view Get(Span span) const {
    return std::string_view(text_).substr(span.pos, span.len);
  }

 private:
  const std::string& text_;
  const std::vector<Hit>& hits_;
};

// Runs the index query for `event` into the scratch's hits and text;
// returns how many hits have a filter.
size_t Collect(const SubscriptionIndex& index, const EventRecord& event,
               bool include_inactive, ScratchLease& scratch) {
  MatchQuery& query = scratch->query;
  FillCandidateSites(event.site(), event.active_site(), query.sites);
  query.resource_types.assign(event.resource_types().begin(),
                              event.resource_types().end());
  query.event_types.assign(event.event_types().begin(),
                           event.event_types().end());
  query.include_inactive = include_inactive;
  std::string& text = scratch->text;
  std::vector<Hit>& hits = scratch->hits;
  size_t filtered = 0;
  const auto add = [&text](std::string_view s) {
    const Span span{static_cast<uint32_t>(text.size()),
                    static_cast<uint32_t>(s.size())};
    text.append(s);
    return span;
  };
  index.Match(query, [&](const SubscriptionView& view) {
    Hit& hit = hits.emplace_back();
    hit.id = add(view.id);
    hit.site = add(view.site);
    hit.resource_type = add(view.resource_type);
    hit.event_type = add(view.event_type);
    hit.owner = add(view.owner);
    hit.permission = add(view.permission);
    hit.target_url = add(view.target_url);
    hit.dialect = add(view.dialect);
    hit.active = view.active;
    if (view.filter != nullptr) {
      hit.filter = *view.filter;
      ++filtered;
    }
  });
  return filtered;
}

// Sets each filtered hit's representation: the one its dialect asks for,
// looked up once per dialect.
void ResolveRepresentations(const DialectCatalog* dialects,
                            ScratchLease& scratch) {
  std::string& text = scratch->text;
  const auto get = [&text](Span span) {
    return std::string_view(text).substr(span.pos, span.len);
  };
  absl::InlinedVector<std::pair<Span, Span>, 4> known;  // dialect, its one
  for (Hit& hit : scratch->hits) {
    if (hit.filter == nullptr) continue;
    const std::string_view dialect = get(hit.dialect);
    auto it = std::find_if(known.begin(), known.end(), [&](const auto& k) {
      return get(k.first) == dialect;
    });
    if (it != known.end()) {
      hit.representation = it->second;
      continue;
    }
    std::string& name = scratch->representation;
    if (dialects != nullptr) {
      dialects->RepresentationOf(dialect, name);
    } else {
      name.assign(kDeliveryRepresentation);
    }
    hit.representation = Span{static_cast<uint32_t>(text.size()),
                              static_cast<uint32_t>(name.size())};
    text.append(name);  // `dialect` is not used after this
    known.emplace_back(hit.dialect, hit.representation);
  }
}

// The first ACL entry that applies to `owner` and `permission` decides.
struct AclDecision {
  bool allowed = false;
  int entry = -1;  // -1: no entry applies
};

// The event's ACL with the group each entry names looked up once, so that
// judging a candidate asks a (usually small) member set, not the directory.
class ResolvedAcl {
 public:
  // `view` may be null: a null directory knows no groups.
  ResolvedAcl(const EventRecord& event,
              const PrincipalDirectory::MembershipView* view) {
    entries_.reserve(static_cast<size_t>(event.acl_size()));
    for (const internal::AclEntryRecord& entry : event.acl()) {
      Entry& resolved = entries_.emplace_back();
      resolved.record = &entry;
      resolved.everyone = entry.principal() == kEveryone;
      if (!resolved.everyone && view != nullptr) {
        resolved.members = view->MembersOf(entry.principal());
      }
    }
  }

  AclDecision Check(std::string_view owner, std::string_view permission) const {
    for (size_t i = 0; i < entries_.size(); ++i) {
      const Entry& entry = entries_[i];
      const std::string& entry_permission = entry.record->permission();
      if (entry_permission != permission &&
          entry_permission != kAnyPermission) {
        continue;
      }
      if (entry.everyone || entry.record->principal() == owner ||
          (entry.members != nullptr && entry.members->contains(AsAbsl(owner)))) {
        return AclDecision{entry.record->allow(), static_cast<int>(i)};
      }
    }
    return AclDecision{};
  }

 private:
  struct Entry {
    const internal::AclEntryRecord* record = nullptr;
    bool everyone = false;
    const PrincipalDirectory::Members* members = nullptr;  // null: nobody
  };
  absl::InlinedVector<Entry, 8> entries_;
};

// The delivered candidates by (target URL, dialect): a linear scan while
// few, hashed past kLinearMax.
class DeliveredTargets {
 public:
  explicit DeliveredTargets(const Candidates& candidates)
      : candidates_(candidates) {}

  // The earlier delivered candidate with the same target as candidate `i`,
  // or kNotFound after recording `i` as delivered.
  size_t FindOrAdd(size_t i) {
    const Key key = KeyOf(i);
    if (hashed_.empty() && delivered_.size() < kLinearMax) {
      for (size_t d : delivered_) {
        if (KeyOf(d) == key) return d;
      }
      delivered_.push_back(i);
      return kNotFound;
    }
    if (hashed_.empty()) {
      for (size_t d : delivered_) hashed_.emplace(KeyOf(d), d);
    }
    auto [it, inserted] = hashed_.emplace(key, i);
    return inserted ? kNotFound : it->second;
  }

 private:
  static constexpr size_t kLinearMax = 16;
  using Key = std::pair<absl::string_view, absl::string_view>;

  Key KeyOf(size_t i) const {
    const Hit& hit = candidates_.hit(i);
    return Key(AsAbsl(candidates_.Get(hit.target_url)),
               AsAbsl(candidates_.Get(hit.dialect)));
  }

  const Candidates& candidates_;
  absl::InlinedVector<size_t, kLinearMax> delivered_;
  absl::flat_hash_map<Key, size_t> hashed_;
};


// Judges the candidates in order into `out` (one per candidate). The
// directory's reader lock is held while judging, so callers act on the
// verdicts only after this returns. `payloads` (reset to `event`) is used
// only for filtered candidates.
void JudgeAll(const EventRecord& event, const Candidates& candidates,
              const PrincipalDirectory* principals, EventPayloads& payloads,
              std::vector<Judgement>& out) {
  out.assign(candidates.size(), Judgement());
  if (candidates.size() == 0) return;
  std::optional<PrincipalDirectory::MembershipView> view;
  if (principals != nullptr) view.emplace(principals);
  const ResolvedAcl acl(event, view.has_value() ? &*view : nullptr);
  DeliveredTargets delivered(candidates);
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Hit& hit = candidates.hit(i);
    Judgement& judgement = out[i];
    if (!hit.active) {
      judgement.verdict = Verdict::kInactive;
      continue;
    }
    const std::string_view owner = candidates.Get(hit.owner);
    if (!owner.empty()) {
      const AclDecision decision =
          acl.Check(owner, candidates.Get(hit.permission));
      judgement.acl_entry_index = decision.entry;
      if (!decision.allowed) {
        judgement.verdict =
            decision.entry < 0 ? Verdict::kNoGrant : Verdict::kDeniedByAcl;
        continue;
      }
    }
    if (hit.filter != nullptr) {
      const EventPayloads::Parsed& parsed =
          payloads.Get(candidates.Get(hit.representation));
      if (!hit.filter->Passes(parsed.payload)) {
        judgement.verdict = Verdict::kFilteredOut;
        judgement.payload = &parsed;
        continue;
      }
    }
    judgement.duplicate_of = delivered.FindOrAdd(i);
    judgement.verdict = judgement.duplicate_of == kNotFound
                            ? Verdict::kDelivered
                            : Verdict::kDuplicateUrl;
  }
}

std::string Reason(const EventRecord& event, const Candidates& candidates,
                   size_t i, const Judgement& judgement) {
  const Hit& hit = candidates.hit(i);
  const auto entry_text = [&](int index) {
    const internal::AclEntryRecord& entry = event.acl(index);
    return StrCat(entry.principal(), " ", entry.permission());
  };
  switch (judgement.verdict) {
    case Verdict::kDelivered:
      if (hit.owner.len == 0) return "delivered (no owner)";
      return StrCat("delivered: acl[", judgement.acl_entry_index, "] allows ",
                    entry_text(judgement.acl_entry_index));
    case Verdict::kDeniedByAcl:
      return StrCat("denied by acl[", judgement.acl_entry_index, "] (deny ",
                    entry_text(judgement.acl_entry_index), ")");
    case Verdict::kNoGrant:
      return StrCat("no acl entry grants \"", candidates.Get(hit.owner),
                    "\" permission \"", candidates.Get(hit.permission), "\"");
    case Verdict::kInactive:
      return "subscription is inactive";
    case Verdict::kDuplicateUrl:
      return StrCat("duplicate of ",
                    candidates.Get(candidates.hit(judgement.duplicate_of).id),
                    " (same target_url and dialect)");
    case Verdict::kFilteredOut: {
      const EventPayloads::Parsed& parsed = *judgement.payload;
      return StrCat("filtered out: representation \"", parsed.representation,
                    "\" ",
                    parsed.status.ok() ? hit.filter->WhyNot(parsed.payload)
                                       : std::string(parsed.status.message()));
    }
  }
  return "";
}

}  // namespace

std::vector<std::string> CandidateSites(std::string_view site,
                                        std::string_view active_site) {
  std::vector<std::string> sites;
  FillCandidateSites(site, active_site, sites);
  return sites;
}

// Deliveries are judged after the index lock is released and reported after
// judging, so `deliver` may do anything, including matching again.
size_t EventMatcher::ForEachDelivery(
    const EventRecord& event,
    absl::FunctionRef<void(const Recipient&)> deliver) const {
  ScratchLease scratch;
  const size_t filtered =
      Collect(*index_, event, /*include_inactive=*/false, scratch);
  if (scratch->hits.empty()) return 0;
  if (filtered > 0) ResolveRepresentations(dialects_, scratch);
  scratch->payloads.Reset(&event);
  const Candidates candidates(scratch->text, scratch->hits);
  size_t deliveries = 0;
  Recipient& recipient = scratch->recipient;
  JudgeAll(event, candidates, principals_, scratch->payloads,
           scratch->judgements);
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (scratch->judgements[i].verdict != Verdict::kDelivered) continue;
    const Hit& hit = candidates.hit(i);
    recipient.subscription_id.assign(candidates.Get(hit.id));
    recipient.target_url.assign(candidates.Get(hit.target_url));
    recipient.dialect.assign(candidates.Get(hit.dialect));
    deliver(recipient);
    ++deliveries;
  }
  return deliveries;
}

std::vector<Candidate> EventMatcher::Explain(const EventRecord& event) const {
  ScratchLease scratch;
  if (Collect(*index_, event, /*include_inactive=*/true, scratch) > 0) {
    ResolveRepresentations(dialects_, scratch);
  }
  scratch->payloads.Reset(&event);
  const Candidates candidates(scratch->text, scratch->hits);
  std::vector<Candidate> out(candidates.size());
  JudgeAll(event, candidates, principals_, scratch->payloads,
           scratch->judgements);
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Judgement& judgement = scratch->judgements[i];
    const Hit& hit = candidates.hit(i);
    Candidate& candidate = out[i];
    IndexEntry& s = candidate.subscription;
    s.id = candidates.Get(hit.id);
    s.site = candidates.Get(hit.site);
    s.resource_type = candidates.Get(hit.resource_type);
    s.event_type = candidates.Get(hit.event_type);
    s.owner = candidates.Get(hit.owner);
    s.permission = candidates.Get(hit.permission);
    s.target_url = candidates.Get(hit.target_url);
    s.dialect = candidates.Get(hit.dialect);
    s.active = hit.active;
    s.filter = hit.filter;
    candidate.verdict = judgement.verdict;
    candidate.acl_entry_index = judgement.acl_entry_index;
    candidate.reason = Reason(event, candidates, i, judgement);
  }
  return out;
}

}  // namespace webhooks::core
