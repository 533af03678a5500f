// Who receives an event: the subscriptions of every candidate site whose
// types match, that are active, and whose owner the event's ACL grants the
// subscription's permission; one delivery per (target URL, dialect). Runs on
// the in-memory index only: matching never touches disk.
//
//   EventMatcher matcher(&registry->index(), directory);
//   matcher.ForEachDelivery(event, [&](const Recipient& r) { ... });
//   std::vector<Candidate> why = matcher.Explain(event);  // dry run
//
// Thread-safe (the index and directory are).
#ifndef WEBHOOKS_CORE_EVENT_MATCHER_H_
#define WEBHOOKS_CORE_EVENT_MATCHER_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "core/dialect_catalog.h"
#include "core/principal_directory.h"
#include "core/subscription_index.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::core {

using internal::EventRecord;

// A subscription that gets a delivery of the event.
struct Recipient {
  std::string subscription_id;
  std::string target_url;
  std::string dialect;
};

// A candidate of the dry run and why it does or does not get the event.
struct Candidate {
  enum class Verdict {
    kDelivered,     // gets the delivery
    kDeniedByAcl,   // acl_entry_index denies the owner
    kNoGrant,       // no ACL entry names the owner and the permission
    kInactive,      // the subscription is not active
    kDuplicateUrl,  // another allowed candidate has the same URL and dialect
    kFilteredOut,   // the payload does not pass the subscription's filter
  };
  IndexEntry subscription;
  Verdict verdict;
  int acl_entry_index = -1;  // the deciding entry, when one decided
  std::string reason;        // e.g. "denied by acl[2] (deny group:staff view)"
};

// The event's site and its ancestors, then the active site and its
// ancestors, without duplicates, most specific first. Sites are normalized.
std::vector<std::string> CandidateSites(std::string_view site,
                                        std::string_view active_site);

class EventMatcher {
 public:
  // Pointers must outlive the matcher. `dialects` says which representation
  // a subscription receives, so its filter tests that one; without it every
  // filter tests `webhook-delivery`.
  EventMatcher(const SubscriptionIndex* index,
               const PrincipalDirectory* principals,
               const DialectCatalog* dialects = nullptr)
      : index_(index), principals_(principals), dialects_(dialects) {}

  // Calls `deliver` once per delivery the event gets, in index order; for
  // several allowed subscriptions sharing a (target URL, dialect), only the
  // first. Returns the number of deliveries.
  size_t ForEachDelivery(
      const EventRecord& event,
      absl::FunctionRef<void(const Recipient&)> deliver) const;

  // Every candidate (inactive ones included) with its verdict, in index
  // order. Stores nothing.
  std::vector<Candidate> Explain(const EventRecord& event) const;

  // What matching reads, as of now: two matches of the same event give the
  // same deliveries when State() was the same before both.
  struct State {
    uint64_t index = 0;
    uint64_t principals = 0;
    uint64_t dialects = 0;  // a filter tests its dialect's representation
    bool operator==(const State&) const = default;
  };
  State CurrentState() const {
    return {index_->generation(), principals_->generation(),
            dialects_ != nullptr ? dialects_->generation() : 0};
  }

 private:
  const SubscriptionIndex* const index_;
  const PrincipalDirectory* const principals_;
  const DialectCatalog* const dialects_;
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_EVENT_MATCHER_H_
