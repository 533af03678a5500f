// Resolves the receivers of proxied deliveries on threads of its own
// (kThreads, so one slow name does not hold up the others), off the curl
// loop, and applies the SSRF guard to them: with an egress proxy
// curl connects only to the proxy, so webhookd resolves the receiver's host
// itself, checks its addresses with the AddressPolicy, and asks the proxy to
// CONNECT to the first allowed address (an IP literal) rather than to the
// name, which the proxy would resolve again.
//
//   DestinationResolver resolver(&policy, [](Pending p, core::HttpResult r) {
//     ... r.outcome == kResponse: p.connect_ip is set, start the transfer
//   });
//   if (!resolver.Resolve(std::move(pending))) { /* stopped */ }
#ifndef WEBHOOKS_DELIVERY_DESTINATION_RESOLVER_H_
#define WEBHOOKS_DELIVERY_DESTINATION_RESOLVER_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "core/http_sender.h"
#include "delivery/address_policy.h"
#include "delivery/transfer.h"

namespace webhooks::delivery {

class DestinationResolver {
 public:
  // Called on the resolver's thread for each request: with outcome
  // kResponse and pending.connect_ip set when an allowed address was found;
  // kRefusedAddress ("refused to connect to 10.0.0.1: private address (not
  // in allowed_cidrs)") when every address is refused; kConnectError when
  // the name does not resolve; kRejected "shutting down" for requests still
  // queued at Stop.
  using Sink = std::function<void(Pending, core::HttpResult)>;

  static constexpr int kThreads = 4;

  DestinationResolver(const AddressPolicy* policy, Sink sink);
  ~DestinationResolver();  // Stop()

  // Queues `pending` (checked by CheckRequest); false, leaving it
  // untouched, once stopped.
  bool Resolve(Pending& pending);
  // Ends the threads after the lookups in progress; queued requests go to
  // the sink as "shutting down". From the sink itself it only asks the
  // threads to end. Idempotent.
  void Stop();

 private:
  void Loop();
  // The resolved and checked address for `pending`, as a result.
  core::HttpResult Check(Pending& pending) const;

  const AddressPolicy* const policy_;
  const Sink sink_;
  absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex join_mu_;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(join_mu_);
};

}  // namespace webhooks::delivery

#endif  // WEBHOOKS_DELIVERY_DESTINATION_RESOLVER_H_
