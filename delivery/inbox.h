// The hand-off between threads calling CurlSender::Send and its loop
// thread: a queue of requests plus the shutdown state, under one mutex.
//
//   bool first;
//   if (!inbox.Push(pending, &first)) pending.done(...);  // shutting down
//   else if (first) WakeLoop();
//   Inbox::Batch batch = inbox.Take();             // on the loop thread
//   ...
//   inbox.Recycle(std::move(batch.pending));        // its storage, again
//
// Thread-safe.
#ifndef WEBHOOKS_DELIVERY_INBOX_H_
#define WEBHOOKS_DELIVERY_INBOX_H_

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "delivery/transfer.h"

namespace webhooks::delivery {

class Inbox {
 public:
  struct Batch {
    std::vector<Pending> pending;  // in the order pushed
    bool stopping = false;
    absl::Time deadline = absl::InfiniteFuture();  // for in-flight transfers
  };

  // Queues `pending` and returns true, or leaves it untouched and returns
  // false once Stop was called. *was_empty (if given) tells whether the
  // queue was empty before: only then does the loop thread need waking, as
  // it takes everything queued whenever it wakes.
  bool Push(Pending& pending, bool* was_empty = nullptr);
  // Everything pushed since the last Take, and the shutdown state.
  Batch Take();
  // Hands back a taken batch's vector, emptied here: the next pushes fill
  // its storage instead of allocating (one vector, up to a bound, is kept).
  void Recycle(std::vector<Pending> taken);
  // No more pushes; in-flight transfers may run until now + `grace`. A later
  // call can only bring the deadline forward.
  void Stop(absl::Duration grace);

 private:
  absl::Mutex mu_;
  std::vector<Pending> pending_ ABSL_GUARDED_BY(mu_);
  std::vector<Pending> spare_ ABSL_GUARDED_BY(mu_);  // empty
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
};

}  // namespace webhooks::delivery

#endif  // WEBHOOKS_DELIVERY_INBOX_H_
