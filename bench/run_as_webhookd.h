// Start-up of the benchmarks that run the service's code in-process
// (match_bench, ingest_bench), so they measure it as webhookd runs it: the
// huge-page heap (common/huge_pages.h) and Abseil's mutex deadlock detection
// off, unless --deadlock_detection=true.
//
//   int main(int argc, char** argv) {
//     webhooks::bench::StartAsWebhookd(argc, argv);  // may run us again
//     ...
//     std::printf("absl mutex deadlock detection: %s\n",
//                 DeadlockDetectionState().c_str());
#ifndef WEBHOOKS_BENCH_RUN_AS_WEBHOOKD_H_
#define WEBHOOKS_BENCH_RUN_AS_WEBHOOKD_H_

#include <string>

namespace webhooks::bench {

// Call first thing in main: turns the huge-page heap on (which may execute
// the program again), parses the command line, sets deadlock detection.
void StartAsWebhookd(int argc, char** argv);

// "off, as in webhookd" or "library default (on)".
std::string DeadlockDetectionState();

}  // namespace webhooks::bench

#endif  // WEBHOOKS_BENCH_RUN_AS_WEBHOOKD_H_
