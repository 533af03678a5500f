// How many WatchOutcomes streams may be open: per principal and in all.
// Each stream holds up to OutcomeBuffer::kMaxBytes for a reader that does
// not read, so these bound that memory (defaults: 16 x 256 streams x 256 KiB
// = at most 64 MiB). When the last of a burst of streams closes, the freed
// heap is given back to the system (malloc_trim), at most once a second.
//
//   ASSIGN_OR_RETURN(WatchQuota::Ticket ticket, quota.Acquire(principal));
//   ... the stream keeps `ticket` until it is done ...
#ifndef WEBHOOKS_SERVER_HANDLERS_WATCH_QUOTA_H_
#define WEBHOOKS_SERVER_HANDLERS_WATCH_QUOTA_H_

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace webhooks::server {

class WatchQuota {
 public:
  static constexpr int kMaxPerPrincipal = 16;
  static constexpr int kMaxTotal = 256;

  explicit WatchQuota(int max_per_principal = kMaxPerPrincipal,
                      int max_total = kMaxTotal)
      : max_per_principal_(max_per_principal), max_total_(max_total) {}

  class Releaser {
   public:
    void operator()(WatchQuota* quota) const;
    std::string principal;
  };
  // Holds one stream's place until destroyed.
  using Ticket = std::unique_ptr<WatchQuota, Releaser>;

  // RESOURCE_EXHAUSTED when `principal` (empty in open mode) has
  // max_per_principal streams open, or all principals max_total.
  absl::StatusOr<Ticket> Acquire(const std::string& principal)
      ABSL_LOCKS_EXCLUDED(mu_);

  int open() const ABSL_LOCKS_EXCLUDED(mu_);
  // How many times the heap was trimmed (for tests).
  int trims() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Release(const std::string& principal) ABSL_LOCKS_EXCLUDED(mu_);

  const int max_per_principal_;
  const int max_total_;
  mutable absl::Mutex mu_;
  std::map<std::string, int> per_principal_ ABSL_GUARDED_BY(mu_);
  int total_ ABSL_GUARDED_BY(mu_) = 0;
  // Streams open at once since the last trim: a burst worth trimming after.
  int peak_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_trim_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int trims_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HANDLERS_WATCH_QUOTA_H_
