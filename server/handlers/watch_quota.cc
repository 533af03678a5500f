#include "server/handlers/watch_quota.h"

#include <malloc.h>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "common/strings.h"

namespace webhooks::server {
namespace {

// Fewer streams than this at their peak leave too little to give back.
constexpr int kBurst = 8;
constexpr absl::Duration kTrimInterval = absl::Seconds(1);

}  // namespace

void WatchQuota::Releaser::operator()(WatchQuota* quota) const {
  quota->Release(principal);
}

absl::StatusOr<WatchQuota::Ticket> WatchQuota::Acquire(
    const std::string& principal) {
  absl::MutexLock lock(&mu_);
  int& mine = per_principal_[principal];
  if (mine >= max_per_principal_) {
    return absl::ResourceExhaustedError(
        StrCat("at most ", max_per_principal_,
               " WatchOutcomes streams per caller; close one first"));
  }
  if (total_ >= max_total_) {
    if (mine == 0) per_principal_.erase(principal);
    return absl::ResourceExhaustedError(
        StrCat("at most ", max_total_,
               " WatchOutcomes streams on this server; try again later"));
  }
  ++mine;
  ++total_;
  if (total_ > peak_) peak_ = total_;
  return Ticket(this, Releaser{principal});
}

void WatchQuota::Release(const std::string& principal) {
  bool trim = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = per_principal_.find(principal);
    if (it != per_principal_.end() && --it->second <= 0) {
      per_principal_.erase(it);
    }
    --total_;
    const absl::Time now = absl::Now();
    if (total_ == 0 && peak_ >= kBurst && now - last_trim_ >= kTrimInterval) {
      trim = true;
      peak_ = 0;
      last_trim_ = now;
      ++trims_;
    }
  }
  // The buffers of a burst of streams are freed by now; glibc keeps freed
  // heap until told otherwise.
  if (trim) malloc_trim(0);
}

int WatchQuota::open() const {
  absl::MutexLock lock(&mu_);
  return total_;
}

int WatchQuota::trims() const {
  absl::MutexLock lock(&mu_);
  return trims_;
}

}  // namespace webhooks::server
