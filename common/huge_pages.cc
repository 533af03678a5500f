#include "common/huge_pages.h"

#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>

namespace webhooks {
namespace {

constexpr std::string_view kTunable = "glibc.malloc.hugetlb";
constexpr char kSwitch[] = "WEBHOOKD_HUGE_PAGES";

std::string_view Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string_view() : std::string_view(value);
}

// The value GLIBC_TUNABLES gives glibc.malloc.hugetlb, or "" when unnamed.
std::string_view HugeTlbValue() {
  const std::string_view tunables = Env("GLIBC_TUNABLES");
  size_t pos = 0;
  while (pos <= tunables.size()) {
    size_t end = tunables.find(':', pos);
    if (end == std::string_view::npos) end = tunables.size();
    const std::string_view item = tunables.substr(pos, end - pos);
    if (item.substr(0, kTunable.size()) == kTunable &&
        item.size() > kTunable.size() && item[kTunable.size()] == '=') {
      return item.substr(kTunable.size() + 1);
    }
    pos = end + 1;
  }
  return {};
}

}  // namespace

void UseHugePageHeap(char** argv) {
  if (Env(kSwitch) == "0" || !HugeTlbValue().empty()) return;
  std::string tunables(Env("GLIBC_TUNABLES"));
  if (!tunables.empty()) tunables += ':';
  tunables += kTunable;
  tunables += "=1";
  // The program's own file, by its real name: executing "/proc/self/exe"
  // itself would rename the process "exe" (in ps, top, pkill).
  char path[4096];
  const ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (length <= 0 || static_cast<size_t>(length) >= sizeof(path) - 1) return;
  path[length] = '\0';
  if (setenv("GLIBC_TUNABLES", tunables.c_str(), 1) != 0) return;
  execv(path, argv);
  // Still here: the exec failed; go on as we are, and say so in the state.
  setenv(kSwitch, "0", 1);
}

std::string HugePageHeapState() {
  if (Env(kSwitch) == "0") return "off (WEBHOOKD_HUGE_PAGES=0)";
  const std::string_view value = HugeTlbValue();
  if (value.empty()) return "off (UseHugePageHeap not called)";
  if (value == "0") return "off (GLIBC_TUNABLES sets glibc.malloc.hugetlb=0)";
  return "on (glibc.malloc.hugetlb=" + std::string(value) + ")";
}

}  // namespace webhooks
