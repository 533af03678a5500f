// Several CurlSenders, each a libcurl multi loop on a thread of its own, as
// one (CurlSenderOptions::sender_threads). A request goes to the shard its
// destination (scheme://host:port) hashes to, so one destination's
// transfers, its per-destination cap and its kept-alive connections all
// stay on one thread; many destinations spread over all of them.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<CurlSender> pool,
//                    MakeSenderPool(options, make_loop));
//
// Callbacks run on the thread of the shard that sent the request.
#ifndef WEBHOOKS_DELIVERY_SENDER_POOL_H_
#define WEBHOOKS_DELIVERY_SENDER_POOL_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "delivery/curl_sender.h"

namespace webhooks::delivery {

// The shard of `shards` that `url` is sent by: the same for every URL of
// one destination however it is spelled ("HTTPS://Example.com/a" and
// "https://example.com:443/b"). A URL that does not parse as an http(s)
// target goes to shard 0, which refuses it.
size_t DestinationShard(std::string_view url, size_t shards);

// One loop of the pool, with its part of the caps, its thread named
// `thread_name`.
using MakeLoop = absl::FunctionRef<absl::StatusOr<std::unique_ptr<CurlSender>>(
    const CurlSenderOptions& part, std::string thread_name)>;

// options.sender_threads loops made by `make_loop`, each given its part of
// max_in_flight and max_idle_connections (the first ones the remainder)
// and the other options whole, threads named "curl-sender-<i>". The first
// error of `make_loop`, after the loops made so far are shut down.
absl::StatusOr<std::unique_ptr<CurlSender>> MakeSenderPool(
    const CurlSenderOptions& options, MakeLoop make_loop);

}  // namespace webhooks::delivery

#endif  // WEBHOOKS_DELIVERY_SENDER_POOL_H_
