// The receiver flags delivery_bench and cluster_bench share, for endpoints
// more like real ones (bench/README.md, issue 14's fourteenth step):
// --receiver_ports (each port a destination of its own to the sender) and
// --receiver_delay_ms (each answer held that long).
//
//   ReceiverOptions options;
//   ApplyReceiverFlags(options);
//   std::printf("receiver: %s\n", ReceiverFlagsSummary().c_str());
#ifndef WEBHOOKS_BENCH_RECEIVER_FLAGS_H_
#define WEBHOOKS_BENCH_RECEIVER_FLAGS_H_

#include <string>

#include "absl/flags/declare.h"
#include "bench/http_receiver.h"

ABSL_DECLARE_FLAG(int, receiver_ports);
ABSL_DECLARE_FLAG(double, receiver_delay_ms);

namespace webhooks::bench {

// Sets the ports and the delay of `options` from the flags.
void ApplyReceiverFlags(ReceiverOptions& options);

// "ports N, answering at once" or "... after D ms", for a benchmark's
// opening lines.
std::string ReceiverFlagsSummary();

}  // namespace webhooks::bench

#endif  // WEBHOOKS_BENCH_RECEIVER_FLAGS_H_
