// Backs the malloc heap with transparent huge pages, so that the large,
// pointer-chasing structures (the subscription index holds a few hundred
// bytes per subscription in many small blocks) take fewer TLB misses: on a
// cold index, matching an event costs a quarter less.
//
//   int main(int argc, char** argv) {
//     webhooks::UseHugePageHeap(argv);  // first: may run the program again
//     ...
//
// glibc reads its malloc tunables once, at start-up, from GLIBC_TUNABLES, so
// turning glibc.malloc.hugetlb on means executing the program again with it
// set (execv of the program's own file, found through /proc/self/exe, with
// the same arguments: same process id, name and open files). Nothing happens when the variable already names
// glibc.malloc.hugetlb (the operator chose), when WEBHOOKD_HUGE_PAGES=0, or
// when the exec fails (the program goes on with normal pages). With
// transparent huge pages set to "never" the kernel ignores the request.
#ifndef WEBHOOKS_COMMON_HUGE_PAGES_H_
#define WEBHOOKS_COMMON_HUGE_PAGES_H_

#include <string>

namespace webhooks {

// Call first thing in main, before any thread starts.
void UseHugePageHeap(char** argv);

// For start-up logs: "on", or why not ("off: WEBHOOKD_HUGE_PAGES=0", ...).
std::string HugePageHeapState();

}  // namespace webhooks

#endif  // WEBHOOKS_COMMON_HUGE_PAGES_H_
