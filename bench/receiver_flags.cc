#include "bench/receiver_flags.h"

#include <algorithm>

#include "absl/flags/flag.h"
#include "common/strings.h"

ABSL_FLAG(int, receiver_ports, 1,
          "Ports the receiver listens on; target i (subscription i of a "
          "site) goes to port i mod this, so each port is a destination of "
          "its own, with its own connections, to the sender "
          "(delivery_bench's ceilings use the first).");
ABSL_FLAG(double, receiver_delay_ms, 0,
          "The receiver answers each request this long after reading it, "
          "as a real endpoint's work would (0: at once).");

namespace webhooks::bench {

void ApplyReceiverFlags(ReceiverOptions& options) {
  options.ports = std::max(1, absl::GetFlag(FLAGS_receiver_ports));
  options.delay_s = absl::GetFlag(FLAGS_receiver_delay_ms) / 1e3;
}

std::string ReceiverFlagsSummary() {
  ReceiverOptions options;
  ApplyReceiverFlags(options);
  if (options.delay_s <= 0) {
    return StrCat("ports ", options.ports, ", answering at once");
  }
  return StrCat("ports ", options.ports, ", answering after ",
                options.delay_s * 1e3, " ms");
}

}  // namespace webhooks::bench
