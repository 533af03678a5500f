#include "common/huge_pages.h"

#include <cstdlib>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhooks {
namespace {

using ::testing::StartsWith;

// Restores an environment variable when the test ends.
class EnvGuard {
 public:
  explicit EnvGuard(const char* name) : name_(name) {
    const char* value = std::getenv(name);
    had_ = value != nullptr;
    if (had_) value_ = value;
  }
  ~EnvGuard() {
    if (had_) {
      setenv(name_, value_.c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  bool had_ = false;
  std::string value_;
};

TEST(HugePagesTest, StateReadsTheTunableAmongOthers) {
  EnvGuard tunables("GLIBC_TUNABLES"), toggle("WEBHOOKD_HUGE_PAGES");
  unsetenv("WEBHOOKD_HUGE_PAGES");
  unsetenv("GLIBC_TUNABLES");
  EXPECT_THAT(HugePageHeapState(), StartsWith("off"));
  setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=8", 1);
  EXPECT_THAT(HugePageHeapState(), StartsWith("off"));
  setenv("GLIBC_TUNABLES",
         "glibc.malloc.tcache_count=8:glibc.malloc.hugetlb=1", 1);
  EXPECT_EQ(HugePageHeapState(), "on (glibc.malloc.hugetlb=1)");
  setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=0", 1);
  EXPECT_THAT(HugePageHeapState(), StartsWith("off (GLIBC_TUNABLES"));
  setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlbx=1", 1);  // another name
  EXPECT_THAT(HugePageHeapState(), StartsWith("off"));
  setenv("WEBHOOKD_HUGE_PAGES", "0", 1);
  EXPECT_EQ(HugePageHeapState(), "off (WEBHOOKD_HUGE_PAGES=0)");
}

// When the operator already chose (or turned it off), nothing is executed:
// the test process is still here and the environment is unchanged.
TEST(HugePagesTest, LeavesAnOperatorsChoiceAlone) {
  EnvGuard tunables("GLIBC_TUNABLES"), toggle("WEBHOOKD_HUGE_PAGES");
  char program[] = "not-run";
  char* argv[] = {program, nullptr};
  unsetenv("WEBHOOKD_HUGE_PAGES");
  setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=0", 1);
  UseHugePageHeap(argv);
  EXPECT_STREQ(std::getenv("GLIBC_TUNABLES"), "glibc.malloc.hugetlb=0");
  setenv("WEBHOOKD_HUGE_PAGES", "0", 1);
  unsetenv("GLIBC_TUNABLES");
  UseHugePageHeap(argv);
  EXPECT_EQ(std::getenv("GLIBC_TUNABLES"), nullptr);
}

}  // namespace
}  // namespace webhooks
