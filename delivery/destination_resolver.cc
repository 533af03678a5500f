#include "delivery/destination_resolver.h"

#include <netdb.h>
#include <pthread.h>
#include <sys/socket.h>

#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "common/strings.h"

namespace webhooks::delivery {
namespace {

// Set on the resolver's threads: Stop from the sink must not join them.
thread_local bool on_resolver_thread = false;

}  // namespace

DestinationResolver::DestinationResolver(const AddressPolicy* policy, Sink sink)
    : policy_(policy), sink_(std::move(sink)) {
  absl::MutexLock lock(&join_mu_);
  for (int i = 0; i < kThreads; ++i) {
    threads_.emplace_back([this] {
      pthread_setname_np(pthread_self(), "dns-resolver");
      Loop();
    });
  }
}

DestinationResolver::~DestinationResolver() { Stop(); }

bool DestinationResolver::Resolve(Pending& pending) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  queue_.push_back(std::move(pending));
  return true;
}

void DestinationResolver::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (on_resolver_thread) return;
  absl::MutexLock lock(&join_mu_);
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void DestinationResolver::Loop() {
  on_resolver_thread = true;
  while (true) {
    Pending pending;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](DestinationResolver* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(r->mu_) {
            return r->stopping_ || !r->queue_.empty();
          },
          this));
      if (stopping_) break;
      pending = std::move(queue_.front());
      queue_.pop_front();
    }
    core::HttpResult result = Check(pending);
    sink_(std::move(pending), std::move(result));
  }
  std::deque<Pending> left;
  {
    absl::MutexLock lock(&mu_);
    left.swap(queue_);
  }
  for (Pending& pending : left) {
    sink_(std::move(pending), RejectedResult("shutting down"));
  }
}

core::HttpResult DestinationResolver::Check(Pending& pending) const {
  const absl::Time start = absl::Now();
  core::HttpResult result;
  const CheckedRequest& checked = *pending.checked;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int code = getaddrinfo(checked.host.c_str(),
                               std::to_string(checked.port).c_str(), &hints,
                               &found);
  if (code != 0) {
    result.outcome = core::HttpResult::Outcome::kConnectError;
    result.error = StrCat("could not resolve host \"", checked.host,
                          "\": ", gai_strerror(code));
    result.elapsed = absl::Now() - start;
    return result;
  }
  std::string refusal;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const std::string why = policy_->RefusedClass(a->ai_addr);
    if (why.empty()) {
      pending.connect_ip = AddressPolicy::AddressText(a->ai_addr);
      result.outcome = core::HttpResult::Outcome::kResponse;
      break;
    }
    refusal = RefusedConnectMessage(a->ai_addr, why);
  }
  freeaddrinfo(found);
  if (pending.connect_ip.empty()) {
    result.outcome = core::HttpResult::Outcome::kRefusedAddress;
    result.error = refusal.empty() ? "no address to connect to" : refusal;
  }
  result.elapsed = absl::Now() - start;
  return result;
}

}  // namespace webhooks::delivery
