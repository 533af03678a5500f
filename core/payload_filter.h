// A subscription's payload filter: a JSON document in the style of Convoy's
// and Outpost's filters (MongoDB query operators), compiled once and run
// against the JSON body of the representation the subscription receives.
//
//   ASSIGN_OR_RETURN(PayloadFilterPtr filter, PayloadFilter::Compile(
//       "subscription.filter", R"({"amount": {"$gte": 100}})", limits));
//   JsonPayload payload;
//   payload.Parse(R"({"amount": 250})");
//   filter->Passes(payload);  // true
//
// Syntax (README "Payload filters" has the full story):
//   {"a.b": 5}                      equality (numbers by value: 5 == 5.0)
//   {"a": {"$eq"|"$ne"|"$lt"|"$lte"|"$gt"|"$gte": scalar}}
//   {"a": {"$in"|"$nin": [scalar, ...]}}
//   {"a": {"$exists": true|false}}  ($exist, Convoy's spelling, too)
//   {"$and"|"$or": [filter, ...]}, {"$not": filter}
// Keys of one object are and-ed. Paths are dot-separated keys; a numeric
// segment indexes an array, any other segment applied to an array looks into
// each element. A field that holds an array passes a comparison when any
// element does ($ne and $nin: when no element is equal).
//
// This file and payload_filter.cc are the only place that knows the JSON
// library. A PayloadFilter is immutable and thread-safe; a JsonPayload is
// for one thread at a time.
#ifndef WEBHOOKS_CORE_PAYLOAD_FILTER_H_
#define WEBHOOKS_CORE_PAYLOAD_FILTER_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/limits.h"

namespace webhooks::core {

class PayloadFilter;
// Shared: the index holds a filter while matchers that copied it out from
// under the index's lock evaluate it, and an update may replace it meanwhile.
using PayloadFilterPtr = std::shared_ptr<const PayloadFilter>;

// One parsed JSON document (an event's representation body). Reusable: each
// Parse replaces the previous document and keeps the parser's buffers.
class JsonPayload {
 public:
  JsonPayload();
  ~JsonPayload();
  JsonPayload(const JsonPayload&) = delete;
  JsonPayload& operator=(const JsonPayload&) = delete;

  // Parses `text`; empty text is the JSON value null. INVALID_ARGUMENT with
  // the parser's message when it is not JSON; the payload then passes no
  // filter.
  absl::Status Parse(std::string_view text);
  // The value at `path` (a filter's path: dot-separated keys, numeric
  // segments index arrays; the first match when a segment looks into an
  // array's elements): a string as it is, anything else as its JSON text.
  // nullopt when there is none or nothing parsed.
  std::optional<std::string> ValueAt(std::string_view path) const;
  // Holds no document: passes no filter.
  void Clear() { ok_ = false; }
  bool ok() const { return ok_; }

 private:
  friend class PayloadFilter;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool ok_ = false;
};

class PayloadFilter {
 public:
  // Parses and checks `json` within the limits (max_filter_bytes,
  // max_filter_depth, max_filter_predicates, max_filter_values).
  // INVALID_ARGUMENT naming the bad part after `field`, e.g.
  // `subscription.filter.$or[1]["amount"].$gte: wants a number or a string`.
  static absl::StatusOr<PayloadFilterPtr> Compile(std::string_view field,
                                                  std::string_view json,
                                                  const Limits& limits);

  // A filter that passes nothing, for a stored filter that no longer
  // compiles (limits lowered since); `problem` says why.
  static PayloadFilterPtr Rejecting(std::string source, std::string problem);

  ~PayloadFilter();
  PayloadFilter(const PayloadFilter&) = delete;
  PayloadFilter& operator=(const PayloadFilter&) = delete;

  // True when the payload passes. A payload that did not parse passes none.
  bool Passes(const JsonPayload& payload) const;

  // Why `payload` does not pass, for the dry run: the first failing
  // condition, e.g. `"amount": {"$gte": 100}`. Empty when it passes.
  std::string WhyNot(const JsonPayload& payload) const;

  // The filter as given.
  const std::string& source() const { return source_; }

  struct Node;

 private:
  PayloadFilter();

  std::string source_;
  std::unique_ptr<Node> root_;  // null: rejects everything
  std::string problem_;         // for Rejecting
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_PAYLOAD_FILTER_H_
