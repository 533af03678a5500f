// Cluster benchmark (issue 11): committed events/s (Prepare + Commit, K
// events per transaction) and deliveries/s (K subscriptions per event, to a
// local receiver) of real webhookd processes on embedded RocksDB (the
// reference, measured in the same run), on one PostgreSQL node and on three
// nodes sharing one PostgreSQL; CPU per event and per delivery of the nodes
// and of PostgreSQL separately (from /proc), and database round trips and
// commits per transaction and per delivery (from the nodes' /metrics). See
// bench/README.md, "Cluster".
//
//   cluster_bench --configs=rocksdb,pg1,pg3 --modes=ingest,delivery
//                 --repetitions=3 --duration_s=5
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_split.h"
#include "bench/http_receiver.h"
#include "bench/receiver_flags.h"
#include "bench/ingest_load.h"
#include "bench/node_process.h"
#include "bench/populate.h"
#include "bench/setup_store.h"
#include "bench/stats.h"
#include "bench/workload.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "core/store_copy.h"
#include "grpcpp/grpcpp.h"
#include "storage/postgres_store.h"
#include "storage/rocksdb_store.h"
#include "tests/postgres_server.h"
#include "webhooks/v1/event.grpc.pb.h"
#include "webhooks/v1/subscription.grpc.pb.h"

ABSL_FLAG(std::string, configs, "rocksdb,pg1,pg3",
          "Any of rocksdb (one node, embedded RocksDB), pgN (N nodes on one "
          "PostgreSQL).");
ABSL_FLAG(std::string, modes, "ingest,delivery", "ingest and/or delivery.");
ABSL_FLAG(int64_t, subscriptions, 100000, "ingest: subscriptions (workload).");
ABSL_FLAG(int, clients, 32, "ingest: client threads, spread over the nodes.");
ABSL_FLAG(int, events_per_tx, 100, "ingest: events per transaction (K).");
ABSL_FLAG(int, subs_per_event, 10, "delivery: subscriptions per event (K).");
ABSL_FLAG(int, sites, 12,
          "delivery: sites, each with K subscriptions (spreads them over "
          "partitions, hence nodes).");
ABSL_FLAG(int, publishers, 4, "delivery: publishing threads.");
ABSL_FLAG(int, body_bytes, 200,
          "delivery: bytes of each event's JSON body (padded; at least ~120).");
ABSL_FLAG(int64_t, backlog, 20000,
          "delivery: deliveries committed and not yet written back that the "
          "publishers keep.");
ABSL_FLAG(double, duration_s, 3,
          "Measured seconds per run (ingest: keep it under 4, see PreScrape).");
ABSL_FLAG(double, warmup_s, 2, "Unmeasured seconds before each run.");
ABSL_FLAG(int, repetitions, 3, "Runs of each case; medians are reported.");
ABSL_FLAG(int, pool_size, 0, "storage.postgres.pool_size (0: the default).");
ABSL_FLAG(std::string, shared_buffers, "256MB",
          "PostgreSQL shared_buffers (the test harness sets 32MB).");
ABSL_FLAG(bool, statements, false,
          "delivery: load pg_stat_statements and print, after each PostgreSQL "
          "run, the statements of the measured window by execution time.");
ABSL_FLAG(std::string, webhookd, "",
          "The webhookd binary (default: ../server/webhookd from here).");
ABSL_FLAG(std::string, dir, "",
          "Parent of the temporary directory (default $TMPDIR or /tmp).");
ABSL_FLAG(uint64_t, seed, 42, "Workload seed.");
ABSL_FLAG(int, max_in_flight, 0,
          "delivery.max_in_flight of each node (0: the server's default).");
ABSL_FLAG(int, sender_threads, 0,
          "delivery.sender_threads of each node (0: the server's default).");
ABSL_FLAG(int, saturated_write_interval_ms, 0,
          "delivery.saturated_write_interval_ms of each node (0: the "
          "server's default; -1: off).");
ABSL_FLAG(int, max_per_destination, 0,
          "delivery.max_per_destination of each node (0: the server's "
          "default). Every subscription's URL is on the one receiver.");

namespace webhooks::bench {
namespace {

using Nodes = std::vector<std::unique_ptr<NodeProcess>>;

void SleepFor(double s) {
  std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

int Fail(std::string_view what, const absl::Status& status) {
  std::fprintf(stderr, "cluster_bench: %.*s: %s\n",
               static_cast<int>(what.size()), what.data(),
               status.ToString().c_str());
  return 1;
}

struct Config {
  std::string name;
  int nodes = 1;
  bool postgres = false;
};

// Counters of the processes at one instant.
struct Snap {
  double t = 0;
  double nodes_cpu = 0, pg_cpu = 0, self_cpu = 0;
  double round_trips = 0, commits = 0, outcomes = 0;
  int64_t received = 0;
};

// One measured run, normalized.
struct Row {
  double rate = 0;       // events/s (ingest) or deliveries/s (delivery)
  double other = 0;      // deliveries/event (ingest) or durable/s (delivery)
  double node_us = 0;    // node CPU µs per event or delivery
  double pg_us = 0;      // PostgreSQL CPU µs per event or delivery
  double client_us = 0;  // this process (clients, receiver)
  double round_trips = 0;  // per transaction or per delivery
  double commits = 0;
  double cores = 0;  // nodes + PostgreSQL + us, cores used
};

struct Bench {
  std::filesystem::path dir;
  std::string binary;
  std::unique_ptr<testing::PostgresServer> pg;
  int blackhole = -1;  // accepts connections, never answers
  int blackhole_port = 0;
  std::unique_ptr<HttpReceiver> receiver;
  std::string rocksdb_ingest;  // data dir with the workload's subscriptions
  std::string pg_ingest;       // DSN of the same, copied
  int generation = 0;
  std::atomic<int64_t> next_seq{0};

  // CPU first, then the counters: a scrape may make a node compute its
  // queue depth gauge (a scan of the queue, at most every 5 s), which must
  // not land inside a window (see PreScrape).
  Snap Take(const Nodes& nodes) const {
    Snap s;
    for (const auto& node : nodes) s.nodes_cpu += ProcessCpuSeconds(node->pid());
    if (pg != nullptr) s.pg_cpu = PostgresCpuSeconds(pg->postmaster_pid());
    s.self_cpu = ProcessCpuSeconds(getpid());
    s.received = receiver != nullptr ? receiver->requests() : 0;
    s.t = Now();
    for (const auto& node : nodes) {
      absl::StatusOr<Scrape> m = node->ReadMetrics();
      for (int retry = 0; !m.ok() && retry < 5; ++retry) {
        SleepFor(0.05);
        m = node->ReadMetrics();
      }
      if (!m.ok()) {
        std::printf("  WARNING: metrics of pid %d: %s\n", node->pid(),
                    m.status().ToString().c_str());
        continue;
      }
      s.round_trips += m->Get("webhookd_database_round_trips_total");
      s.commits += m->Get("webhookd_database_commits_total");
      s.outcomes += m->Get("webhookd_delivery_write_batch_size_sum");
    }
    return s;
  }

  // Scrapes every node once, so that the queue depth gauge is computed now
  // and not again for 5 s: a window that starts after this and lasts less
  // than 5 s minus that scan's time contains no depth scan.
  void PreScrape(const Nodes& nodes) const {
    for (const auto& node : nodes) (void)node->ReadMetrics();
  }

  // `store`: a RocksDB directory or a PostgreSQL DSN.
  absl::StatusOr<Nodes> StartNodes(const Config& config,
                                   const std::string& store) {
    std::string text = StrCat(
        "allow_http_targets: true\n"
        "delivery { allowed_cidrs: \"127.0.0.1/32\" total_timeout_ms: ",
        3600 * 1000);
    if (absl::GetFlag(FLAGS_max_in_flight) > 0) {
      text += StrCat(" max_in_flight: ", absl::GetFlag(FLAGS_max_in_flight));
    }
    if (absl::GetFlag(FLAGS_sender_threads) > 0) {
      text += StrCat(" sender_threads: ", absl::GetFlag(FLAGS_sender_threads));
    }
    if (absl::GetFlag(FLAGS_saturated_write_interval_ms) != 0) {
      text += StrCat(" saturated_write_interval_ms: ",
                     absl::GetFlag(FLAGS_saturated_write_interval_ms));
    }
    if (absl::GetFlag(FLAGS_max_per_destination) > 0) {
      text += StrCat(" max_per_destination: ",
                     absl::GetFlag(FLAGS_max_per_destination));
    }
    text += " }\n";
    if (config.postgres && absl::GetFlag(FLAGS_pool_size) > 0) {
      text += StrCat("storage { postgres { pool_size: ",
                     absl::GetFlag(FLAGS_pool_size), " } }\n");
    }
    Nodes nodes;
    for (int i = 0; i < config.nodes; ++i) {
      std::vector<std::string> flags = {"--shutdown_grace_seconds=1"};
      if (config.postgres) {
        flags.push_back("--postgres_dsn=" + store);
        flags.push_back(StrCat("--node_id=n", i + 1));
      } else {
        flags.push_back("--data_dir=" + store);
      }
      auto node = NodeProcess::Start(
          binary, (dir / StrCat("node", generation++)).string(), text, flags);
      if (!node.ok()) return node.status();
      nodes.push_back(*std::move(node));
    }
    return nodes;
  }
};

std::vector<std::shared_ptr<grpc::Channel>> Channels(const Nodes& nodes,
                                                     int per_node) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int c = 0; c < per_node; ++c) {
    for (const auto& node : nodes) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // own connection
      channels.push_back(grpc::CreateCustomChannel(
          node->address(), grpc::InsecureChannelCredentials(), args));
    }
  }
  return channels;
}

// Waits until the nodes together hold every partition, spread evenly.
void AwaitBalance(const Nodes& nodes, double timeout_s) {
  if (nodes.size() < 2) return;
  const double deadline = Now() + timeout_s;
  while (Now() < deadline) {
    double sum = 0, most = 0;
    for (const auto& node : nodes) {
      absl::StatusOr<Scrape> m = node->ReadMetrics();
      const double held = m.ok() ? m->Get("webhookd_cluster_partitions_held") : 0;
      sum += held;
      most = std::max(most, held);
    }
    if (sum >= 64 && most <= (sum + nodes.size() - 1) / nodes.size() + 1) return;
    SleepFor(0.2);
  }
  std::printf("  WARNING: partitions not balanced after %.0f s\n", timeout_s);
}

Row Normalize(const Snap& a, const Snap& b, double units, double per) {
  Row r;
  const double dt = b.t - a.t;
  r.rate = units / dt;
  r.node_us = units > 0 ? (b.nodes_cpu - a.nodes_cpu) / units * 1e6 : 0;
  r.pg_us = units > 0 ? (b.pg_cpu - a.pg_cpu) / units * 1e6 : 0;
  r.client_us = units > 0 ? (b.self_cpu - a.self_cpu) / units * 1e6 : 0;
  r.round_trips = per > 0 ? (b.round_trips - a.round_trips) / per : 0;
  r.commits = per > 0 ? (b.commits - a.commits) / per : 0;
  r.cores = ((b.nodes_cpu - a.nodes_cpu) + (b.pg_cpu - a.pg_cpu) +
             (b.self_cpu - a.self_cpu)) / dt;
  return r;
}

absl::StatusOr<Row> RunIngest(Bench& bench, const Config& config,
                              const Workload& workload, int rep) {
  ASSIGN_OR_RETURN(Nodes nodes,
                   bench.StartNodes(config, config.postgres
                                                ? bench.pg_ingest
                                                : bench.rocksdb_ingest));
  AwaitBalance(nodes, 30);  // no partitions moving during the window
  const auto channels = Channels(nodes, 4);
  Snap a, b;
  LoadOptions options{.clients = absl::GetFlag(FLAGS_clients),
                      .events_per_tx = absl::GetFlag(FLAGS_events_per_tx),
                      .warmup_s = absl::GetFlag(FLAGS_warmup_s),
                      .duration_s = absl::GetFlag(FLAGS_duration_s),
                      .tag = StrCat(config.name, "-", rep, "-", bench.generation),
                      .seed = absl::GetFlag(FLAGS_seed) + rep};
  options.on_window_start = [&] {
    bench.PreScrape(nodes);
    a = bench.Take(nodes);
  };
  options.on_window_end = [&] { b = bench.Take(nodes); };
  LoadResult load = RunGrpcLoad(channels, workload, options);
  for (auto& node : nodes) node->Stop();
  Row r = Normalize(a, b, static_cast<double>(load.events),
                    static_cast<double>(load.transactions));
  r.rate = load.events_per_s();
  r.other = load.events > 0 ? static_cast<double>(load.deliveries) /
                                  static_cast<double>(load.events)
                            : 0;
  if (load.errors > 0) {
    std::printf("  %lld errors, first: %s\n",
                static_cast<long long>(load.errors), load.first_error.c_str());
  }
  return r;
}

// Event `seq`'s body, --body_bytes long.
std::string EventBody(int64_t seq) {
  return DeliveryEventBody(
      seq, static_cast<size_t>(absl::GetFlag(FLAGS_body_bytes)));
}

absl::Status CreateSubscriptions(const NodeProcess& node, HttpReceiver* receiver,
                                 int sites, int k) {
  grpc::ChannelArguments args;
  auto channel = grpc::CreateCustomChannel(
      node.address(), grpc::InsecureChannelCredentials(), args);
  auto stub = v1::SubscriptionService::NewStub(channel);
  for (int s = 0; s < sites; ++s) {
    for (int i = 0; i < k; ++i) {
      v1::CreateSubscriptionRequest request;
      v1::Subscription* sub = request.mutable_subscription();
      sub->set_site(StrCat("/bench/s", s));
      sub->set_resource_type("*");
      sub->set_event_type("*");
      sub->set_target_url(
          StrCat(receiver->base_url_for_target(i), "/s", s, "/", i));
      v1::Subscription created;
      grpc::ClientContext context;
      grpc::Status status = stub->CreateSubscription(&context, request, &created);
      if (!status.ok()) {
        return absl::InternalError(
            StrCat("CreateSubscription: ", status.error_message()));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Row> RunDelivery(Bench& bench, const Config& config) {
  const int k = absl::GetFlag(FLAGS_subs_per_event);
  const int sites = std::max(1, absl::GetFlag(FLAGS_sites));
  std::string store;
  if (config.postgres) {
    ASSIGN_OR_RETURN(store,
                     bench.pg->CreateDatabase(StrCat("d", bench.generation)));
  } else {
    store = (bench.dir / StrCat("d", bench.generation)).string();
  }
  ASSIGN_OR_RETURN(Nodes nodes, bench.StartNodes(config, store));
  RETURN_IF_ERROR(CreateSubscriptions(*nodes[0], bench.receiver.get(), sites, k));
  SleepFor(1.0);  // the other nodes read them from the change feed
  AwaitBalance(nodes, 30);

  const auto channels = Channels(nodes, 1);
  const int per_publish = std::max(1, (100 + k - 1) / k);
  const int64_t backlog = absl::GetFlag(FLAGS_backlog);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> created{0}, durable{0}, errors{0}, site{0};
  std::thread poller([&] {
    while (!stop.load()) {
      double sum = 0;
      for (const auto& node : nodes) {
        absl::StatusOr<Scrape> m = node->ReadMetrics();
        if (m.ok()) sum += m->Get("webhookd_delivery_write_batch_size_sum");
      }
      durable.store(static_cast<int64_t>(sum));
      SleepFor(0.05);
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < absl::GetFlag(FLAGS_publishers); ++t) {
    threads.emplace_back([&, t] {
      auto stub = v1::EventService::NewStub(channels[t % channels.size()]);
      while (!stop.load()) {
        if (created.load() - durable.load() > backlog) {
          SleepFor(0.001);
          continue;
        }
        const int64_t first = bench.next_seq.fetch_add(per_publish);
        const std::string at = StrCat("/bench/s", site.fetch_add(1) % sites);
        v1::PublishRequest request;
        for (int i = 0; i < per_publish; ++i) {
          v1::Event* e = request.add_events();
          e->set_id(StrCat("e", first + i));
          e->set_site(at);
          e->add_resource_types("employee");
          e->add_event_types("added");
          v1::Representation& r =
              (*e->mutable_representations())["webhook-delivery"];
          r.set_body(EventBody(first + i));
          r.set_content_type("application/json");
        }
        v1::PublishResponse response;
        grpc::ClientContext context;
        if (!stub->Publish(&context, request, &response).ok()) {
          ++errors;
          SleepFor(0.01);
          continue;
        }
        created.fetch_add(response.deliveries_created());
      }
    });
  }
  const double warm_start = Now();
  SleepFor(absl::GetFlag(FLAGS_warmup_s));
  while (created.load() - durable.load() < backlog * 9 / 10 &&
         Now() - warm_start < 30) {
    SleepFor(0.01);
  }
  const bool statements = config.postgres && absl::GetFlag(FLAGS_statements);
  if (statements) {
    (void)bench.pg->Sql("postgres", "SELECT pg_stat_statements_reset()");
  }
  const Snap a = bench.Take(nodes);
  SleepFor(absl::GetFlag(FLAGS_duration_s));
  const Snap b = bench.Take(nodes);
  std::string top;
  if (statements) {
    top = bench.pg->Sql("postgres",
                        "SELECT calls, rows, "
                        "round(total_exec_time::numeric, 1), "
                        "regexp_replace(left(query, 150), "
                        "'\\s+', ' ', 'g') FROM pg_stat_statements "
                        "ORDER BY total_exec_time DESC LIMIT 15")
              .value_or("(pg_stat_statements unreadable)");
  }
  stop.store(true);
  for (std::thread& t : threads) t.join();
  poller.join();
  for (auto& node : nodes) node->Stop();
  const double received = static_cast<double>(b.received - a.received);
  const double outcomes = b.outcomes - a.outcomes;
  Row r = Normalize(a, b, received, outcomes);
  r.other = outcomes / (b.t - a.t);
  if (statements) {
    std::printf("  statements in the window by time (calls|rows|ms "
                "executing|query), %.0f outcomes:\n",
                outcomes);
    for (absl::string_view line : absl::StrSplit(top, '\n')) {
      std::printf("    %.*s\n", static_cast<int>(line.size()), line.data());
    }
  }
  if (errors > 0) std::printf("  %lld publish errors\n",
                              static_cast<long long>(errors.load()));
  return r;
}

// The ingest store: the workload's subscriptions (pointing at the black
// hole, so deliveries are held as ingest_bench's --sender=hold does) in a
// RocksDB directory and, copied, in a PostgreSQL database.
absl::Status Setup(Bench& bench, const Workload& workload, bool postgres) {
  SystemClock clock;
  SecureRandom random;
  bench.rocksdb_ingest = (bench.dir / "ingest").string();
  ASSIGN_OR_RETURN(storage::StorePtr rocks,
                   storage::RocksDbStore::Open({.path = bench.rocksdb_ingest}));
  SetupStore store(std::move(rocks));
  const std::string base = StrCat("https://127.0.0.1:", bench.blackhole_port);
  RETURN_IF_ERROR(Populate(&store, workload, &clock, &random,
                           [&](size_t i) { return StrCat(base, "/hook/", i); }));
  store.set_sync(true);
  if (!postgres) return absl::OkStatus();
  const double start = Now();
  ASSIGN_OR_RETURN(bench.pg_ingest, bench.pg->CreateDatabase("ingest"));
  ASSIGN_OR_RETURN(auto pg, storage::PostgresStore::Open({.dsn = bench.pg_ingest}));
  ASSIGN_OR_RETURN(core::CopyReport report,
                   core::CopyStore(store, 1, *pg, pg->partition_count()));
  (void)report;
  std::printf("setup: copied into PostgreSQL in %.1f s\n", Now() - start);
  return absl::OkStatus();
}

void PrintTable(const char* title, const char* unit, const char* other,
                const std::vector<Config>& configs,
                std::map<std::string, std::vector<Row>>& rows) {
  std::printf("\n%s (median of %d; ratio = median over repetitions of rate / "
              "the same repetition's rocksdb rate)\n",
              title, absl::GetFlag(FLAGS_repetitions));
  std::printf("%-8s %10s %6s %9s %9s %9s %9s %8s %8s %6s\n", "config", unit,
              "ratio", other, "node_us", "pg_us", "client_us", "rt/op",
              "commit/op", "cores");
  const std::vector<Row>& ref = rows["rocksdb"];
  for (const Config& c : configs) {
    const std::vector<Row>& v = rows[c.name];
    auto med = [&](double Row::*field) {
      std::vector<double> x;
      for (const Row& r : v) x.push_back(r.*field);
      return Median(x);
    };
    std::vector<double> ratios;
    for (size_t i = 0; i < v.size() && i < ref.size(); ++i) {
      if (ref[i].rate > 0) ratios.push_back(v[i].rate / ref[i].rate);
    }
    std::printf("%-8s %10.0f %6.2f %9.2f %9.1f %9.1f %9.1f %8.2f %8.3f %6.2f\n",
                c.name.c_str(), med(&Row::rate),
                ratios.empty() ? 0 : Median(ratios), med(&Row::other),
                med(&Row::node_us), med(&Row::pg_us), med(&Row::client_us),
                med(&Row::round_trips), med(&Row::commits), med(&Row::cores));
  }
}

int Run() {
  std::vector<Config> configs;
  bool postgres = false;
  for (absl::string_view name :
       absl::StrSplit(absl::GetFlag(FLAGS_configs), ',', absl::SkipEmpty())) {
    Config c{.name = std::string(name)};
    if (name.substr(0, 2) == "pg") {
      c.postgres = postgres = true;
      c.nodes = std::max(1, std::atoi(std::string(name.substr(2)).c_str()));
    }
    configs.push_back(c);
  }
  const std::string modes = absl::GetFlag(FLAGS_modes);
  const bool ingest = modes.find("ingest") != std::string::npos;
  const bool delivery = modes.find("delivery") != std::string::npos;
  std::printf("cluster_bench: %s\n", MachineSummary().c_str());

  Bench bench;
  bench.binary = absl::GetFlag(FLAGS_webhookd).empty()
                     ? DefaultWebhookdBinary()
                     : absl::GetFlag(FLAGS_webhookd);
  std::string parent = absl::GetFlag(FLAGS_dir);
  if (parent.empty()) parent = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  std::string dir_template = parent + "/cluster_bench.XXXXXX";
  if (mkdtemp(dir_template.data()) == nullptr) {
    return Fail("mkdtemp", absl::InternalError(dir_template));
  }
  bench.dir = dir_template;
  std::printf("webhookd: %s; data under %s (removed at exit)\n",
              bench.binary.c_str(), bench.dir.c_str());

  bench.blackhole = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(bench.blackhole, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      listen(bench.blackhole, 4096) != 0 ||
      getsockname(bench.blackhole, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return Fail("black hole", absl::InternalError("bind/listen"));
  }
  bench.blackhole_port = ntohs(addr.sin_port);

  if (postgres) {
    auto pg = testing::PostgresServer::StartNew();
    if (!pg.ok()) return Fail("PostgreSQL", pg.status());
    bench.pg = *std::move(pg);
    auto set = bench.pg->Sql("postgres", StrCat("ALTER SYSTEM SET shared_buffers = '",
                                                absl::GetFlag(FLAGS_shared_buffers), "'"));
    if (!set.ok()) return Fail("ALTER SYSTEM", set.status());
    if (absl::GetFlag(FLAGS_statements)) {
      set = bench.pg->Sql("postgres",
                          "ALTER SYSTEM SET shared_preload_libraries = "
                          "'pg_stat_statements'");
      if (!set.ok()) return Fail("ALTER SYSTEM", set.status());
    }
    if (absl::Status s = bench.pg->Restart(); !s.ok()) return Fail("restart", s);
    if (absl::GetFlag(FLAGS_statements)) {
      auto created = bench.pg->Sql("postgres",
                                   "CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      if (!created.ok()) return Fail("pg_stat_statements", created.status());
    }
    std::printf("PostgreSQL on port %d (fsync on, synchronous_commit on, "
                "shared_buffers %s)\n",
                bench.pg->port(), absl::GetFlag(FLAGS_shared_buffers).c_str());
  }
  ReceiverOptions receiver_options;
  ApplyReceiverFlags(receiver_options);
  auto receiver = HttpReceiver::Start(receiver_options);
  if (!receiver.ok()) return Fail("receiver", receiver.status());
  bench.receiver = *std::move(receiver);
  std::printf("receiver: %s\n", ReceiverFlagsSummary().c_str());

  const Workload workload(
      {.subscriptions = static_cast<size_t>(absl::GetFlag(FLAGS_subscriptions)),
       .seed = absl::GetFlag(FLAGS_seed)});
  if (ingest) {
    if (absl::Status s = Setup(bench, workload, postgres); !s.ok()) {
      return Fail("setup", s);
    }
  }

  std::map<std::string, std::vector<Row>> ingest_rows, delivery_rows;
  for (int rep = 0; rep < absl::GetFlag(FLAGS_repetitions); ++rep) {
    for (const Config& c : configs) {
      if (ingest) {
        auto r = RunIngest(bench, c, workload, rep);
        if (!r.ok()) return Fail(StrCat("ingest ", c.name), r.status());
        std::printf("  rep %d ingest   %-7s %8.0f events/s  nodes %.1f pg %.1f "
                    "us/event, %.2f round trips/tx, %.2f cores\n",
                    rep, c.name.c_str(), r->rate, r->node_us, r->pg_us,
                    r->round_trips, r->cores);
        std::fflush(stdout);
        ingest_rows[c.name].push_back(*r);
      }
      if (delivery) {
        auto r = RunDelivery(bench, c);
        if (!r.ok()) return Fail(StrCat("delivery ", c.name), r.status());
        std::printf("  rep %d delivery %-7s %8.0f deliveries/s (%.0f durable/s) "
                    " nodes %.1f pg %.1f us/delivery, %.2f round trips/delivery, "
                    "%.2f cores\n",
                    rep, c.name.c_str(), r->rate, r->other, r->node_us, r->pg_us,
                    r->round_trips, r->cores);
        std::fflush(stdout);
        delivery_rows[c.name].push_back(*r);
      }
    }
  }
  if (ingest) {
    PrintTable(StrCat("ingest, K=", absl::GetFlag(FLAGS_events_per_tx), ", ",
                      absl::GetFlag(FLAGS_clients), " clients; per event, "
                      "round trips and commits per transaction").c_str(),
               "events/s", "deliv/ev", configs, ingest_rows);
  }
  if (delivery) {
    PrintTable(StrCat("delivery, K=", absl::GetFlag(FLAGS_subs_per_event),
                      " subscriptions per event, publishing included; per "
                      "delivery received, round trips and commits per durable "
                      "outcome").c_str(),
               "deliv/s", "durable/s", configs, delivery_rows);
  }
  std::printf("load average after: %.2f\n", LoadAverage());
  bench.receiver.reset();
  close(bench.blackhole);
  bench.pg.reset();
  std::error_code error;
  std::filesystem::remove_all(bench.dir, error);
  return 0;
}

}  // namespace
}  // namespace webhooks::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return webhooks::bench::Run();
}
