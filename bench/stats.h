// Small measurement helpers for the benchmarks: percentiles, process memory,
// and how busy the machine was (ours vs. everyone else's CPU) during a run.
//
//   CpuSampler cpu;            // starts sampling
//   ... run ...
//   CpuUse use = cpu.Stop();   // use.ours, use.others in cores
#ifndef WEBHOOKS_BENCH_STATS_H_
#define WEBHOOKS_BENCH_STATS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace webhooks::bench {

// Seconds on a monotonic clock.
double Now();

// The p-th percentile (0..100) of `values` (reordered); 0 when empty.
double Percentile(std::vector<double>& values, double p);
// The median of `values` (reordered); 0 when empty.
double Median(std::vector<double> values);

// Resident set size of this process, in bytes.
size_t RssBytes();

// "2 x AMD EPYC ..., load 1.2 0.9 0.8": what the README records.
std::string MachineSummary();
// The 1-minute load average.
double LoadAverage();

struct CpuUse {
  double ours = 0;    // cores used by this process on average
  double others = 0;  // cores used by everything else on average
};

class CpuSampler {
 public:
  CpuSampler() { Start(); }
  void Start();
  CpuUse Stop() const;

 private:
  double wall_ = 0;
  uint64_t system_busy_ = 0;  // jiffies, every CPU
  uint64_t self_ = 0;         // jiffies of this process
};

}  // namespace webhooks::bench

#endif  // WEBHOOKS_BENCH_STATS_H_
