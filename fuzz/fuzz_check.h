// FUZZ_CHECK(cond): the invariant a fuzz target checks. Unlike assert() it
// stays on in optimized builds, and it says what failed before aborting, so
// libFuzzer records the input as a crash.
#ifndef WEBHOOKS_FUZZ_FUZZ_CHECK_H_
#define WEBHOOKS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                              \
  do {                                                                \
    if (!(cond)) {                                                    \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                  \
      std::abort();                                                   \
    }                                                                 \
  } while (false)

#endif  // WEBHOOKS_FUZZ_FUZZ_CHECK_H_
