#include "bench/run_as_webhookd.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "common/huge_pages.h"

ABSL_FLAG(bool, deadlock_detection, false,
          "Leave Abseil's mutex deadlock detection as the library defaults "
          "(on in Debian's build, as in the tests); false (the default) "
          "turns it off, as webhookd does.");

namespace webhooks::bench {

void StartAsWebhookd(int argc, char** argv) {
  UseHugePageHeap(argv);
  absl::ParseCommandLine(argc, argv);
  if (!absl::GetFlag(FLAGS_deadlock_detection)) {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  }
}

std::string DeadlockDetectionState() {
  return absl::GetFlag(FLAGS_deadlock_detection) ? "library default (on)"
                                                 : "off, as in webhookd";
}

}  // namespace webhooks::bench
