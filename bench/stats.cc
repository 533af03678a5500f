#include "bench/stats.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/huge_pages.h"
#include "common/strings.h"

namespace webhooks::bench {
namespace {

// Busy jiffies of all CPUs from /proc/stat (everything but idle and iowait).
uint64_t SystemBusyJiffies() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0,
           softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >>
      steal;
  return user + nice + system + irq + softirq + steal;
}

// utime + stime of this process from /proc/self/stat.
uint64_t SelfJiffies() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  // The command name may hold spaces; fields resume after its ')'.
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // state .. cmajflt
  uint64_t utime = 0, stime = 0;
  fields >> utime >> stime;
  return utime + stime;
}

}  // namespace

double Now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  const double rank = p / 100.0 * static_cast<double>(values.size() - 1);
  const auto k = static_cast<size_t>(std::llround(rank));
  std::nth_element(values.begin(), values.begin() + static_cast<long>(k),
                   values.end());
  return values[k];
}

double Median(std::vector<double> values) { return Percentile(values, 50); }

size_t RssBytes() {
  std::ifstream in("/proc/self/statm");
  size_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

double LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double one = 0;
  in >> one;
  return one;
}

std::string MachineSummary() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::ifstream loadavg("/proc/loadavg");
  std::string l1, l5, l15;
  loadavg >> l1 >> l5 >> l15;
  const long gib = sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) >> 30;
  return StrCat(std::thread::hardware_concurrency(), " x ", model, ", ", gib,
                " GiB, load average ", l1, " ", l5, " ", l15,
                "; heap huge pages ", HugePageHeapState());
}

void CpuSampler::Start() {
  wall_ = Now();
  system_busy_ = SystemBusyJiffies();
  self_ = SelfJiffies();
}

CpuUse CpuSampler::Stop() const {
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double elapsed = std::max(1e-9, Now() - wall_);
  const double busy = static_cast<double>(SystemBusyJiffies() - system_busy_);
  const double self = static_cast<double>(SelfJiffies() - self_);
  CpuUse use;
  use.ours = self / hz / elapsed;
  use.others = std::max(0.0, (busy - self) / hz / elapsed);
  return use;
}

}  // namespace webhooks::bench
