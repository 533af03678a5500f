#include "delivery/request_pool.h"

#include <string>
#include <utility>

namespace webhooks::delivery {

void RequestPool::Keep(core::HttpRequest request) {
  if (request.body.capacity() > kMaxBodyBytes ||
      request.headers.size() > kMaxHeaders) {
    return;
  }
  request.client_certificate_pem = std::string();
  request.client_key_pem = std::string();
  absl::MutexLock lock(&mu_);
  if (kept_.size() < capacity_) kept_.push_back(std::move(request));
}

core::HttpRequest RequestPool::Take() {
  absl::MutexLock lock(&mu_);
  if (kept_.empty()) return core::HttpRequest();
  core::HttpRequest request = std::move(kept_.back());
  kept_.pop_back();
  return request;
}

size_t RequestPool::kept() const {
  absl::MutexLock lock(&mu_);
  return kept_.size();
}

}  // namespace webhooks::delivery
