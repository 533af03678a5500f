// Sent requests kept for HttpSender::SpareRequest: the curl loop keeps each
// request it is done with, and the caller takes one to fill again, so a
// request's strings and header list are allocated once and reused instead
// of being allocated by the caller's thread and freed by the loop's.
//
//   RequestPool pool(512);
//   pool.Keep(std::move(sent));                 // the loop thread
//   core::HttpRequest request = pool.Take();    // the caller's; stale fields
//
// Thread-safe.
#ifndef WEBHOOKS_DELIVERY_REQUEST_POOL_H_
#define WEBHOOKS_DELIVERY_REQUEST_POOL_H_

#include <cstddef>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "core/http_sender.h"

namespace webhooks::delivery {

class RequestPool {
 public:
  // Requests kept: bodies up to this capacity, at most this many headers.
  static constexpr size_t kMaxBodyBytes = 64 << 10;
  static constexpr size_t kMaxHeaders = 32;

  // Keeps at most `capacity` requests.
  explicit RequestPool(size_t capacity) : capacity_(capacity) {}

  // Keeps `request` unless it is larger than the limits above or the pool
  // is full. Its client certificate and key are dropped first: they are
  // not kept longer than they must be.
  void Keep(core::HttpRequest request);
  // A kept request (every field stale), or a new one.
  core::HttpRequest Take();
  size_t kept() const;

 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::vector<core::HttpRequest> kept_ ABSL_GUARDED_BY(mu_);
};

}  // namespace webhooks::delivery

#endif  // WEBHOOKS_DELIVERY_REQUEST_POOL_H_
