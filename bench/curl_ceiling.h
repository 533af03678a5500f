// Ceiling B of delivery_bench: a bare libcurl multi loop — one thread,
// `concurrency` easy handles configured once and re-added after each
// transfer, keep-alive connections — POSTing one fixed body. What libcurl
// itself allows against the receiver, without webhookd's queue, storage,
// rendering or bookkeeping.
//
//   std::atomic<bool> stop{false};
//   CurlLoopResult r = RunCurlLoop({.urls = {url}, .body = body}, stop);
#ifndef WEBHOOKS_BENCH_CURL_CEILING_H_
#define WEBHOOKS_BENCH_CURL_CEILING_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace webhooks::bench {

struct CurlLoopOptions {
  std::vector<std::string> urls;     // handle i posts to urls[i % size]
  std::string body;
  std::vector<std::string> headers;  // "Name: value" lines
  int concurrency = 32;              // transfers (and connections) at once
  std::string ca_file;               // for https; empty: the system's
};

struct CurlLoopResult {
  int64_t succeeded = 0;  // 2xx responses
  int64_t failed = 0;     // anything else
  std::string first_error;
};

// Runs on the calling thread until `stop` becomes true.
CurlLoopResult RunCurlLoop(const CurlLoopOptions& options,
                           const std::atomic<bool>& stop);

}  // namespace webhooks::bench

#endif  // WEBHOOKS_BENCH_CURL_CEILING_H_
