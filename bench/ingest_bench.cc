// Ingest benchmark: committed events/s through the whole gRPC service
// (Prepare + Commit) over RocksDB, next to the storage ceiling measured in
// the same run. See bench/README.md.
//
//   ingest_bench --subscriptions=100000 --clients=8,32,64
//                --events_per_tx=1,10,100 --duration_s=10 --repetitions=3
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "bench/fake_sender.h"
#include "bench/ingest_load.h"
#include "bench/populate.h"
#include "bench/run_as_webhookd.h"
#include "bench/setup_store.h"
#include "bench/stats.h"
#include "bench/workload.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/strings.h"
#include "core/dialect_catalog.h"
#include "core/event_matcher.h"
#include "core/principal_directory.h"
#include "core/subscription_registry.h"
#include "core/transaction_log.h"
#include "grpcpp/grpcpp.h"
#include "server/application.h"
#include "server/config_loader.h"
#include "storage/rocksdb_store.h"

ABSL_FLAG(int64_t, subscriptions, 100000, "Subscriptions in the service.");
ABSL_FLAG(std::string, clients, "8,32,64", "Concurrent client threads.");
ABSL_FLAG(std::string, events_per_tx, "1,10,100", "Events per transaction.");
ABSL_FLAG(double, duration_s, 10, "Measured seconds per run.");
ABSL_FLAG(double, warmup_s, 1, "Unmeasured seconds before each run.");
ABSL_FLAG(int, repetitions, 1, "Runs of each case; the median counts.");
ABSL_FLAG(int, channels, 4, "gRPC channels (connections) the clients share.");
ABSL_FLAG(std::string, modes, "grpc,ceiling",
          "Any of grpc (the service), domain (TransactionLog without gRPC), "
          "ceiling (the storage writes only).");
ABSL_FLAG(std::string, dir, "",
          "Parent of the temporary database directories (default $TMPDIR "
          "or /tmp); removed at exit.");
ABSL_FLAG(std::string, sender, "hold",
          "What deliveries meet: hold (never answered: the dispatcher leases "
          "up to its cap, then waits; measures ingest alone) or ok (answered "
          "200 at once: ingest while every delivery is attempted).");
ABSL_FLAG(uint64_t, seed, 42, "Workload seed.");
ABSL_FLAG(int64_t, kept_matches, -1,
          "--modes=domain only: TransactionOptions::kept_matches (0: Commit "
          "reads the events back and matches them again; -1: the default).");

namespace webhooks::bench {
namespace {

std::vector<int> ParseInts(const std::string& list) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    int n = 0;
    if (absl::SimpleAtoi(part, &n) && n > 0) out.push_back(n);
  }
  return out;
}

int Fail(std::string_view what, const absl::Status& status) {
  std::fprintf(stderr, "ingest_bench: %.*s: %s\n", static_cast<int>(what.size()),
               what.data(), status.ToString().c_str());
  return 1;
}

// Medians over repetitions of one (mode, K, clients) case.
struct Summary {
  std::vector<double> events_per_s, deliveries_per_s, prepare_p50, prepare_p99,
      commit_p50, commit_p99, cpu_ours, cpu_others, cpu_us_per_event;
  int64_t errors = 0;
  std::string first_error;

  void Add(LoadResult& r) {
    events_per_s.push_back(r.events_per_s());
    deliveries_per_s.push_back(r.deliveries_per_s());
    prepare_p50.push_back(Percentile(r.prepare_us, 50) / 1000);
    prepare_p99.push_back(Percentile(r.prepare_us, 99) / 1000);
    commit_p50.push_back(Percentile(r.commit_us, 50) / 1000);
    commit_p99.push_back(Percentile(r.commit_us, 99) / 1000);
    cpu_ours.push_back(r.cpu.ours);
    cpu_others.push_back(r.cpu.others);
    const double events = r.events_per_s();
    cpu_us_per_event.push_back(events > 0 ? r.cpu.ours / events * 1e6 : 0);
    errors += r.errors;
    if (first_error.empty()) first_error = r.first_error;
  }
};

void PrintRow(const char* mode, int k, int clients, const Summary& s,
              double ceiling) {
  const double events = Median(s.events_per_s);
  std::printf("%-7s %4d %7d %10.0f %10.0f %8.2f %8.2f %8.2f %8.2f %5.2f %6.2f "
              "%7.1f %6lld",
              mode, k, clients, events, Median(s.deliveries_per_s),
              Median(s.prepare_p50), Median(s.prepare_p99),
              Median(s.commit_p50), Median(s.commit_p99), Median(s.cpu_ours),
              Median(s.cpu_others), Median(s.cpu_us_per_event),
              static_cast<long long>(s.errors));
  if (ceiling > 0) std::printf(" %6.2f", events / ceiling);
  std::printf("\n");
  if (!s.first_error.empty()) {
    std::printf("        first error: %s\n", s.first_error.c_str());
  }
}

int Run() {
  const std::vector<int> clients = ParseInts(absl::GetFlag(FLAGS_clients));
  const std::vector<int> sizes = ParseInts(absl::GetFlag(FLAGS_events_per_tx));
  const std::string modes = absl::GetFlag(FLAGS_modes);
  const bool run_grpc = absl::StrContains(modes, "grpc");
  const bool run_domain = absl::StrContains(modes, "domain");
  const bool run_ceiling = absl::StrContains(modes, "ceiling");
  const Workload workload(
      {.subscriptions = static_cast<size_t>(absl::GetFlag(FLAGS_subscriptions)),
       .seed = absl::GetFlag(FLAGS_seed)});
  std::printf("ingest_bench: %s\n", MachineSummary().c_str());
  std::printf("absl mutex deadlock detection: %s\n",
              DeadlockDetectionState().c_str());

  std::string parent = absl::GetFlag(FLAGS_dir);
  if (parent.empty()) parent = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  std::string dir_template = parent + "/ingest_bench.XXXXXX";
  if (mkdtemp(dir_template.data()) == nullptr) {
    return Fail("mkdtemp", absl::InternalError(dir_template));
  }
  const std::filesystem::path dir = dir_template;
  std::printf("databases under %s (removed at exit)\n", dir.c_str());

  SystemClock clock;
  SecureRandom random;
  auto opened = storage::RocksDbStore::Open({.path = dir / "service"});
  if (!opened.ok()) return Fail("open", opened.status());
  auto setup_store = std::make_unique<SetupStore>(*std::move(opened));
  SetupStore* store = setup_store.get();
  if (absl::Status s = Populate(store, workload, &clock, &random); !s.ok()) {
    return Fail("setup", s);
  }
  store->set_sync(true);

  // The product without gRPC: its own domain objects over the same store.
  core::DialectCatalogPtr catalog;
  core::PrincipalDirectoryPtr directory;
  core::SubscriptionRegistryPtr registry;
  std::unique_ptr<core::EventMatcher> matcher;
  core::TransactionLogPtr log;
  if (run_domain) {
    const core::RegistryOptions options;
    catalog = *core::DialectCatalog::Open(store, &clock, options.limits);
    directory = *core::PrincipalDirectory::Open(store, &clock, options.limits);
    registry = *core::SubscriptionRegistry::Open(
        store, catalog.get(), directory.get(), &clock, &random, options);
    matcher = std::make_unique<core::EventMatcher>(&registry->index(),
                                                   directory.get());
    core::TransactionOptions tx_options;
    if (absl::GetFlag(FLAGS_kept_matches) >= 0) {
      tx_options.kept_matches =
          static_cast<size_t>(absl::GetFlag(FLAGS_kept_matches));
    }
    log = std::make_unique<core::TransactionLog>(
        store, /*queue=*/nullptr, matcher.get(), catalog.get(), &clock,
        &random, options.limits, tx_options);
  }

  v1::ServerConfig config;
  config.set_listen_address("127.0.0.1:0");
  if (absl::Status s = server::FinalizeConfig(config); !s.ok()) {
    return Fail("config", s);
  }
  const bool answer = absl::GetFlag(FLAGS_sender) == "ok";
  std::printf("deliveries: %s\n",
              answer ? "answered 200 at once (--sender=ok)"
                     : "held, never answered (--sender=hold)");
  auto app = server::Application::Start(
      config, storage::StorePtr(std::move(setup_store)),
      std::make_unique<FakeSender>(answer ? FakeSender::Mode::kOk
                                          : FakeSender::Mode::kHold),
      &clock, &random);
  if (!app.ok()) return Fail("start", app.status());
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < absl::GetFlag(FLAGS_channels); ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // own connection
    channels.push_back(grpc::CreateCustomChannel(
        StrCat("127.0.0.1:", (*app)->port()), grpc::InsecureChannelCredentials(),
        args));
  }

  storage::StorePtr ceiling_store;
  if (run_ceiling) {
    auto s = storage::RocksDbStore::Open({.path = dir / "ceiling"});
    if (!s.ok()) return Fail("open ceiling", s.status());
    ceiling_store = *std::move(s);
  }

  // (mode, K, clients) -> results; mode 0 grpc, 1 domain, 2 ceiling.
  std::map<std::tuple<int, int, int>, Summary> results;
  double deliveries_per_event = 3;  // until measured
  const char* kModeNames[] = {"grpc", "domain", "ceiling"};
  const bool enabled[] = {run_grpc, run_domain, run_ceiling};
  int run = 0;
  for (int rep = 0; rep < absl::GetFlag(FLAGS_repetitions); ++rep) {
    for (int k : sizes) {
      for (int n : clients) {
        for (int mode = 0; mode < 3; ++mode) {
          if (!enabled[mode]) continue;
          const LoadOptions options{.clients = n,
                                    .events_per_tx = k,
                                    .warmup_s = absl::GetFlag(FLAGS_warmup_s),
                                    .duration_s = absl::GetFlag(FLAGS_duration_s),
                                    .tag = StrCat("r", run++),
                                    .seed = absl::GetFlag(FLAGS_seed) + rep};
          LoadResult r;
          if (mode == 0) r = RunGrpcLoad(channels, workload, options);
          if (mode == 1) r = RunDomainLoad(log.get(), workload, options);
          if (mode == 2) {
            r = RunStoreCeiling(ceiling_store.get(), workload,
                                deliveries_per_event, options);
          } else if (r.events > 0) {
            deliveries_per_event =
                static_cast<double>(r.deliveries) / static_cast<double>(r.events);
          }
          std::printf("  rep %d %-7s K=%-3d clients=%-3d %9.0f events/s "
                      "(%.2f deliveries/event, cpu ours %.2f others %.2f, "
                      "%lld errors)\n",
                      rep, kModeNames[mode], k, n, r.events_per_s(),
                      r.events ? static_cast<double>(r.deliveries) / r.events : 0,
                      r.cpu.ours, r.cpu.others,
                      static_cast<long long>(r.errors));
          std::fflush(stdout);
          results[{mode, k, n}].Add(r);
        }
      }
    }
  }

  std::printf("\nmedian of %d run(s) of %.0f s each; latencies in ms; cpu in "
              "cores (ours = this process: clients + server + RocksDB; "
              "others = the rest of the machine); cpuus/e = our CPU microseconds "
              "per committed event; ratio = events/s over the ceiling's\n",
              absl::GetFlag(FLAGS_repetitions), absl::GetFlag(FLAGS_duration_s));
  std::printf("%-7s %4s %7s %10s %10s %8s %8s %8s %8s %5s %6s %7s %6s %6s\n",
              "mode", "K", "clients", "events/s", "deliv/s", "prep50",
              "prep99", "comm50", "comm99", "cpu", "others", "cpuus/e",
              "errors", "ratio");
  for (int k : sizes) {
    for (int n : clients) {
      double ceiling = 0;
      if (run_ceiling) ceiling = Median(results[{2, k, n}].events_per_s);
      for (int mode = 0; mode < 3; ++mode) {
        if (!enabled[mode]) continue;
        PrintRow(kModeNames[mode], k, n, results[{mode, k, n}],
                 mode == 2 ? 0 : ceiling);
      }
    }
  }
  std::printf("load average after: %.2f\n", LoadAverage());

  channels.clear();
  (*app)->Shutdown(absl::Seconds(2));
  log.reset();
  matcher.reset();
  registry.reset();
  directory.reset();
  catalog.reset();
  app->reset();
  ceiling_store.reset();
  std::error_code error;
  std::filesystem::remove_all(dir, error);
  return 0;
}

}  // namespace
}  // namespace webhooks::bench

int main(int argc, char** argv) {
  webhooks::bench::StartAsWebhookd(argc, argv);
  return webhooks::bench::Run();
}
