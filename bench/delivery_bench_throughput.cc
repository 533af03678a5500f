// Delivery benchmark (delivery_bench.cc), throughput: the ceilings measured
// against the same receiver (A wrk, B a bare libcurl loop, C the product's
// CurlSender alone), webhookd at saturation with publishers running (ours)
// and emptying a committed backlog (drain), and where the dispatcher
// thread's time went (Profile). See delivery_bench.h.
#include <fcntl.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "bench/curl_ceiling.h"
#include "bench/delivery_bench.h"
#include "bench/http_receiver.h"
#include "bench/observed_store.h"
#include "bench/stats.h"
#include "common/strings.h"
#include "delivery/curl_sender.h"

extern char** environ;

namespace webhooks::bench {

// ---------------------------------------------------------------------------
// Ceilings.

std::string LuaString(std::string_view s) {
  std::string level = "=";
  while (s.find("]" + level + "]") != std::string_view::npos) level += "=";
  return StrCat("[", level, "[", s, "]", level, "]");
}

std::vector<std::pair<std::string, std::string>> HeaderPairs(
    std::string_view head) {
  std::vector<std::pair<std::string, std::string>> out;
  bool first = true;
  for (absl::string_view line : absl::StrSplit(AsAbsl(head), "\r\n")) {
    if (first) {
      first = false;
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    std::string name(line.substr(0, colon));
    std::string value(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    std::string lower = absl::AsciiStrToLower(name);
    if (lower == "host" || lower == "content-length") continue;
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

RunFigures RunWrk(Bench& bench, const std::string& scheme,
                  const std::string& script, const std::string& url) {
  const double warmup = absl::GetFlag(FLAGS_warmup_s);
  const double duration = absl::GetFlag(FLAGS_duration_s);
  const int seconds = static_cast<int>(std::ceil(warmup + duration + 1));
  const std::string out_file = (bench.dir / "wrk.out").string();
  std::vector<std::string> args = {
      absl::GetFlag(FLAGS_wrk),
      StrCat("-t", absl::GetFlag(FLAGS_wrk_threads)),
      StrCat("-c", absl::GetFlag(FLAGS_concurrency)),
      StrCat("-d", seconds, "s"),
      "-s",
      script,
      url};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  RunFigures f;
  HttpReceiver* receiver = bench.receiver(scheme);
  if (posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ) !=
      0) {
    f.note = "cannot run wrk (apt-get install -y wrk)";
    posix_spawn_file_actions_destroy(&actions);
    return f;
  }
  posix_spawn_file_actions_destroy(&actions);
  SleepFor(warmup);
  CpuSampler cpu;
  const ThreadTimes v0 = ThreadsSched(receiver->thread_ids());
  const int64_t r0 = receiver->requests();
  const double t0 = Now();
  SleepFor(duration);
  const int64_t r1 = receiver->requests();
  const double t1 = Now();
  const ThreadTimes v1 = ThreadsSched(receiver->thread_ids());
  f.cpu = cpu.Stop();
  f.note = StrCat("\n    threads: receiver ",
                  Use(v1 - v0, static_cast<double>(r1 - r0), t1 - t0));
  int status = 0;
  waitpid(pid, &status, 0);
  f.rate = static_cast<double>(r1 - r0) / (t1 - t0);
  std::ifstream in(out_file);
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "Requests/sec:")) {
      double v = 0;
      if (absl::SimpleAtod(absl::StripAsciiWhitespace(
                               absl::string_view(line).substr(13)),
                           &v)) {
        f.other = v;
      }
    }
    if (absl::StrContains(line, "Non-2xx") ||
        absl::StrContains(line, "Socket errors")) {
      f.note += StrCat(" wrk: ", line);
    }
  }
  return f;
}

namespace {

// One measured window of a load that is already running against
// `receiver`: --warmup_s, then --duration_s of requests received, the CPU
// of the thread `tid` names (read at each end: it may be learnt late) and
// of the receiver's threads, and the process's CPU.
struct Window {
  double rate = 0;      // requests received per second
  double requests = 0;  // in the window
  double seconds = 0;
  ThreadTimes loop, receiver;
  CpuUse cpu;
};

Window MeasureWindow(HttpReceiver* receiver, const std::atomic<int>& tid) {
  SleepFor(absl::GetFlag(FLAGS_warmup_s));
  CpuSampler cpu;
  const ThreadTimes l0 = ThreadSched(tid.load());
  const ThreadTimes v0 = ThreadsSched(receiver->thread_ids());
  const int64_t r0 = receiver->requests();
  const double t0 = Now();
  SleepFor(absl::GetFlag(FLAGS_duration_s));
  const int64_t r1 = receiver->requests();
  const double t1 = Now();
  Window w;
  w.loop = ThreadSched(tid.load()) - l0;
  w.receiver = ThreadsSched(receiver->thread_ids()) - v0;
  w.cpu = cpu.Stop();
  w.requests = static_cast<double>(r1 - r0);
  w.seconds = t1 - t0;
  w.rate = w.requests / w.seconds;
  return w;
}

}  // namespace

RunFigures RunCurlCeiling(Bench& bench, const std::string& scheme,
                          const CurlLoopOptions& options) {
  std::atomic<bool> stop{false};
  std::atomic<int> tid{0};
  CurlLoopResult result;
  std::thread loop([&] {
    tid.store(static_cast<int>(syscall(SYS_gettid)));
    result = RunCurlLoop(options, stop);
  });
  const Window w = MeasureWindow(bench.receiver(scheme), tid);
  RunFigures f;
  f.cpu = w.cpu;
  stop.store(true);
  loop.join();
  f.rate = w.rate;
  f.note = StrCat("\n    threads: libcurl loop ",
                  Use(w.loop, w.requests, w.seconds), "; receiver ",
                  Use(w.receiver, w.requests, w.seconds));
  if (result.failed > 0) {
    f.note += StrCat("; ", result.failed, " failed: ", result.first_error);
  }
  return f;
}

RunFigures RunSenderCeiling(Bench& bench, const std::string& scheme,
                            const core::HttpRequest& request) {
  const delivery::CurlSenderOptions options = SenderOptions(bench);
  auto created = delivery::CurlSender::Create(options);
  RunFigures f;
  if (!created.ok()) {
    f.note = created.status().ToString();
    return f;
  }
  std::unique_ptr<delivery::CurlSender> sender = *std::move(created);
  const int window = options.max_in_flight;
  absl::Mutex mu;
  int outstanding = 0;
  int64_t failed = 0;
  std::atomic<int> tid{0};
  std::atomic<bool> stop{false};
  std::thread feeder([&] {
    while (!stop.load()) {
      {
        absl::MutexLock lock(&mu);
        auto room = [&] { return outstanding < window || stop.load(); };
        mu.Await(absl::Condition(&room));
        if (stop.load()) break;
        ++outstanding;
      }
      sender->Send(request, [&](core::HttpResult result) {
        if (tid.load(std::memory_order_relaxed) == 0) {
          tid.store(static_cast<int>(syscall(SYS_gettid)));
        }
        absl::MutexLock lock(&mu);
        --outstanding;
        if ((result.outcome != core::HttpResult::Outcome::kResponse ||
             result.status_code >= 300) &&
            !stop.load()) {  // not cut off by the Shutdown below
          ++failed;
        }
      });
    }
  });
  const Window w = MeasureWindow(bench.receiver(scheme), tid);
  f.cpu = w.cpu;
  {
    absl::MutexLock lock(&mu);
    stop.store(true);
  }
  feeder.join();
  sender->Shutdown(absl::Seconds(5));
  f.rate = w.rate;
  f.note = StrCat("\n    threads: curl ", Use(w.loop, w.requests, w.seconds),
                  "; receiver ", Use(w.receiver, w.requests, w.seconds));
  if (failed > 0) f.note += StrCat("; ", failed, " failed");
  return f;
}

// ---------------------------------------------------------------------------
// Ours.

ThreadSnap Snap(Bench& bench) {
  return {ThreadSched(bench.store->fetcher_tid()),
          ThreadSched(bench.store->dispatcher_tid()),
          ThreadsSched(ThreadsNamed("curl-sender")),
          ThreadsSched(bench.receiver_tids()),
          ThreadsSched(ThreadsNamed("rpc-blocking")),
          ThreadsSched(ThreadsNamed("rocksdb:"))};
}

std::string Profile(const ObservedStore::Figures& d, int64_t deliveries,
                    const ThreadSnap& threads, double seconds) {
  if (deliveries <= 0) return "";
  const double n = static_cast<double>(deliveries);
  auto us = [n](const ObservedStore::Calls& c) {
    return static_cast<double>(c.nanos) / 1000.0 / n;
  };
  auto per = [n](const ObservedStore::Calls& c) {
    return static_cast<double>(c.count) / n;
  };
  using storage::Column;
  const auto& deliveries_get = d.gets[static_cast<int>(Column::kDeliveries)];
  const auto& subs_get = d.gets[static_cast<int>(Column::kSubscriptions)];
  const auto& events_get = d.gets[static_cast<int>(Column::kTransactionEvents)];
  ObservedStore::Calls other_gets;
  for (int i = 0; i < storage::kColumnCount; ++i) {
    if (i == static_cast<int>(Column::kDeliveries) ||
        i == static_cast<int>(Column::kSubscriptions) ||
        i == static_cast<int>(Column::kTransactionEvents)) {
      continue;
    }
    other_gets.count += d.gets[i].count;
    other_gets.nanos += d.gets[i].nanos;
  }
  const auto& queue_scan = d.scans[static_cast<int>(Column::kDeliveryQueue)];
  const double store_us = us(deliveries_get) + us(subs_get) + us(events_get) +
                          us(other_gets) + us(queue_scan) +
                          us(d.outcome_writes) + us(d.other_writes);
  char text[3000];
  std::snprintf(
      text, sizeof(text),
      "    threads: dispatcher fetch %s; dispatcher write %s; curl %s; "
      "receiver %s; rpc-blocking handlers %s; rocksdb background %s\n"
      "    dispatcher wall time in the store per delivery: %.1f us = queue "
      "scan %.1f (%.3f scans of %.2f ms) + Get delivery %.1f (%.2f) + Get subscription "
      "%.1f (%.2f) + Get event %.1f (%.2f) + other Gets %.1f (%.2f) + outcome "
      "writes %.1f + other writes %.1f (%.3f)\n"
      "    synced outcome writes: %.0f/s, %.1f outcomes and %.0f ops each, "
      "%.2f ms each\n",
      Use(threads.fetcher, n, seconds).c_str(),
      Use(threads.dispatcher, n, seconds).c_str(),
      Use(threads.sender, n, seconds).c_str(),
      Use(threads.receiver, n, seconds).c_str(),
      Use(threads.handlers, n, seconds).c_str(),
      Use(threads.rocksdb, n, seconds).c_str(), store_us, us(queue_scan),
      per(queue_scan),
      queue_scan.count ? static_cast<double>(queue_scan.nanos) / 1e6 /
                             static_cast<double>(queue_scan.count)
                       : 0,
      us(deliveries_get), per(deliveries_get), us(subs_get),
      per(subs_get), us(events_get), per(events_get), us(other_gets),
      per(other_gets), us(d.outcome_writes), us(d.other_writes),
      per(d.other_writes),
      static_cast<double>(d.outcome_writes.count) / seconds,
      d.outcome_writes.count ? n / static_cast<double>(d.outcome_writes.count)
                             : 0,
      d.outcome_writes.count
          ? static_cast<double>(d.outcome_write_ops) /
                static_cast<double>(d.outcome_writes.count)
          : 0,
      d.outcome_writes.count ? static_cast<double>(d.outcome_writes.nanos) /
                                   1e6 /
                                   static_cast<double>(d.outcome_writes.count)
                             : 0);
  std::string bytes = "    bytes written per delivery (keys and values):";
  double total_bytes = 0;
  for (storage::Column column : storage::AllColumns()) {
    const double b =
        static_cast<double>(d.written_bytes[static_cast<int>(column)]) / n;
    if (b < 0.5) continue;
    total_bytes += b;
    absl::StrAppend(&bytes, " ", std::string(storage::ColumnName(column)), " ",
                    absl::SixDigits(b), ";");
  }
  absl::StrAppend(&bytes, " total ", absl::SixDigits(total_bytes), "\n");
  return text + bytes;
}

int EventsPerPublish(int64_t k) {
  return static_cast<int>(std::max<int64_t>(1, (100 + k - 1) / k));
}

RunFigures RunOurs(Bench& bench, const std::string& scheme, int64_t k,
                   std::string* profile) {
  const std::string site = Bench::Site(scheme, k);
  const int per_publish = EventsPerPublish(k);
  const int64_t backlog = absl::GetFlag(FLAGS_backlog);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < absl::GetFlag(FLAGS_publishers); ++t) {
    threads.emplace_back([&, t] {
      Publisher publisher(bench.channel(t));
      while (!stop.load()) {
        if (bench.created.load() - bench.store->durable_outcomes() > backlog) {
          SleepFor(0.0005);
          continue;
        }
        const int64_t first = bench.next_seq.fetch_add(per_publish);
        absl::StatusOr<int64_t> n = publisher.Publish(site, first, per_publish);
        if (!n.ok()) {
          if (errors++ == 0) std::fprintf(stderr, "%s\n", n.status().ToString().c_str());
          SleepFor(0.01);
          continue;
        }
        bench.created.fetch_add(*n);
      }
    });
  }
  HttpReceiver* receiver = bench.receiver(scheme);
  // Warm up, and fill the backlog before the clock starts (at most 30 s).
  const double warm_start = Now();
  SleepFor(absl::GetFlag(FLAGS_warmup_s));
  while (bench.created.load() - bench.store->durable_outcomes() <
             backlog * 9 / 10 &&
         Now() - warm_start < 30) {
    SleepFor(0.01);
  }
  CpuSampler cpu;
  const ObservedStore::Figures f0 = bench.store->figures();
  const ThreadSnap th0 = Snap(bench);
  const int64_t c0 = bench.created.load();
  const int64_t r0 = receiver->requests();
  const double t0 = Now();
  SleepFor(absl::GetFlag(FLAGS_duration_s));
  const int64_t r1 = receiver->requests();
  const double t1 = Now();
  const int64_t c1 = bench.created.load();
  const ObservedStore::Figures f1 = bench.store->figures();
  const ThreadSnap th1 = Snap(bench);
  RunFigures f;
  f.cpu = cpu.Stop();
  stop.store(true);
  for (std::thread& t : threads) t.join();
  const ObservedStore::Figures d = f1 - f0;
  f.rate = static_cast<double>(r1 - r0) / (t1 - t0);
  f.other = static_cast<double>(d.durable_outcomes) / (t1 - t0);
  f.note = StrCat("committed ",
                  static_cast<int64_t>(static_cast<double>(c1 - c0) / (t1 - t0)),
                  "/s");
  if (errors > 0) f.note += StrCat(", ", errors.load(), " publish errors");
  if (!bench.Settle(120)) f.note += ", NOT SETTLED";
  if (profile != nullptr && absl::GetFlag(FLAGS_profile)) {
    *profile = Profile(d, r1 - r0, th1 - th0, t1 - t0);
  }
  return f;
}

RunFigures RunDrain(Bench& bench, const std::string& scheme, int64_t k,
                    std::string* profile) {
  const std::string site = Bench::Site(scheme, k);
  const int per_publish = EventsPerPublish(k);
  const int64_t target = absl::GetFlag(FLAGS_drain_deliveries);
  bench.gate->Close();
  const int64_t base = bench.created.load();
  std::vector<std::thread> threads;
  for (int t = 0; t < absl::GetFlag(FLAGS_publishers); ++t) {
    threads.emplace_back([&, t] {
      Publisher publisher(bench.channel(t));
      while (bench.created.load() - base < target) {
        const int64_t first = bench.next_seq.fetch_add(per_publish);
        absl::StatusOr<int64_t> n = publisher.Publish(site, first, per_publish);
        if (n.ok()) bench.created.fetch_add(*n);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const int64_t total = bench.created.load() - base;
  // Let the dispatcher lease what it can.
  for (int i = 0; i < 100 && bench.gate->held() < std::min<int64_t>(total, 2048);
       ++i) {
    SleepFor(0.01);
  }
  RunFigures f;
  HttpReceiver* receiver = bench.receiver(scheme);
  CpuSampler cpu;
  const ObservedStore::Figures f0 = bench.store->figures();
  const ThreadSnap th0 = Snap(bench);
  const int64_t r0 = receiver->requests();
  const double t0 = Now();
  bench.gate->Open();
  const bool settled = bench.Settle(300);
  const double t1 = Now();
  const int64_t r1 = receiver->requests();
  const ObservedStore::Figures f1 = bench.store->figures();
  const ThreadSnap th1 = Snap(bench);
  f.cpu = cpu.Stop();
  const ObservedStore::Figures d = f1 - f0;
  f.rate = static_cast<double>(d.durable_outcomes) / (t1 - t0);
  f.other = static_cast<double>(r1 - r0) / (t1 - t0);
  f.note = StrCat(total, " deliveries");
  if (!settled) f.note += ", NOT SETTLED";
  if (profile != nullptr && absl::GetFlag(FLAGS_profile)) {
    *profile = Profile(d, d.durable_outcomes, th1 - th0, t1 - t0);
  }
  return f;
}

}  // namespace webhooks::bench
