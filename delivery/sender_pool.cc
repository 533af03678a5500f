#include "delivery/sender_pool.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/strings.h"
#include "delivery/transfer.h"

namespace webhooks::delivery {

size_t DestinationShard(std::string_view url, size_t shards) {
  if (shards <= 1) return 0;
  // The destination key the shard's scheduler caps by (CheckRequest's), so
  // every spelling of one destination meets the same cap.
  const absl::StatusOr<CheckedRequest> checked =
      CheckUrl(url, /*allow_http=*/true);
  if (!checked.ok()) return 0;
  return std::hash<std::string>{}(checked->destination) % shards;
}

namespace {

class SenderPool final : public CurlSender {
 public:
  explicit SenderPool(std::vector<std::unique_ptr<CurlSender>> shards)
      : shards_(std::move(shards)) {}

  ~SenderPool() override { Shutdown(absl::ZeroDuration()); }

  void Send(core::HttpRequest request, core::HttpCallback done) override {
    const size_t shard = ShardOf(request.url);
    shards_[shard]->Send(std::move(request), std::move(done));
  }

  int InFlight() const override {
    int in_flight = 0;
    for (const auto& shard : shards_) in_flight += shard->InFlight();
    return in_flight;
  }

  // Every shard stops taking requests before any is waited for, so the
  // grace runs for all of them at once.
  void Shutdown(absl::Duration grace) override {
    StartShutdown(grace);
    if (OnLoopThread()) return;  // from a callback: only started
    for (const auto& shard : shards_) shard->Shutdown(grace);
  }

  void StartShutdown(absl::Duration grace) override {
    for (const auto& shard : shards_) shard->StartShutdown(grace);
  }

  bool OnLoopThread() const override {
    for (const auto& shard : shards_) {
      if (shard->OnLoopThread()) return true;
    }
    return false;
  }

 private:
  // DestinationShard, remembered by URL: most requests repeat one of a few
  // thousand (one per subscription). At most kMaxUrls, all forgotten when
  // full.
  size_t ShardOf(const std::string& url) ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      auto it = shard_of_url_.find(url);
      if (it != shard_of_url_.end()) return it->second;
    }
    const size_t shard = DestinationShard(url, shards_.size());
    absl::MutexLock lock(&mu_);
    if (shard_of_url_.size() >= kMaxUrls) shard_of_url_.clear();
    shard_of_url_.emplace(url, static_cast<uint32_t>(shard));
    return shard;
  }

  static constexpr size_t kMaxUrls = 4096;
  const std::vector<std::unique_ptr<CurlSender>> shards_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, uint32_t> shard_of_url_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<CurlSender>> MakeSenderPool(
    const CurlSenderOptions& options, MakeLoop make_loop) {
  const int n = options.sender_threads;
  // Loop i's part of `total`.
  auto part_of = [n](int total, int i) {
    return total / n + (i < total % n ? 1 : 0);
  };
  std::vector<std::unique_ptr<CurlSender>> shards;
  for (int i = 0; i < n; ++i) {
    CurlSenderOptions part = options;
    part.max_in_flight = part_of(options.max_in_flight, i);
    part.max_idle_connections = part_of(options.max_idle_connections, i);
    part.sender_threads = 1;
    absl::StatusOr<std::unique_ptr<CurlSender>> loop =
        make_loop(part, StrCat("curl-sender-", i));
    if (!loop.ok()) return loop.status();  // the loops made stop as they go
    shards.push_back(*std::move(loop));
  }
  return std::unique_ptr<CurlSender>(
      std::make_unique<SenderPool>(std::move(shards)));
}

}  // namespace webhooks::delivery
