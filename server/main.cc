// webhookd: the webhook delivery service.
//
//   webhookd --config=webhookd.textproto
//   webhookd --listen=127.0.0.1:7443 --data_dir=./data
//
// Flags override the config file. SIGTERM or SIGINT shut it down gracefully.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/huge_pages.h"
#include "common/random.h"
#include "common/strings.h"
#include "server/application.h"
#include "server/config_loader.h"
#include "server/fd_limits.h"
#include "delivery/curl_sender.h"
#include "server/open_store.h"

ABSL_FLAG(std::string, config, "",
          "Path of the config file (webhooks.v1.ServerConfig, text format).");
ABSL_FLAG(std::string, listen, "",
          "host:port to serve gRPC on; overrides listen_address. Port 0 picks "
          "a free port.");
ABSL_FLAG(std::string, data_dir, "", "RocksDB directory; overrides data_dir.");
ABSL_FLAG(std::string, postgres_dsn, "",
          "Cluster mode: a libpq connection string of the PostgreSQL database "
          "every node shares; overrides storage.postgres.dsn.");
ABSL_FLAG(std::string, node_id, "",
          "Cluster mode: this node's name; overrides cluster.node_id.");
ABSL_FLAG(bool, allow_http_targets, false,
          "Development only: accept http:// target URLs.");
ABSL_FLAG(std::string, port_file, "",
          "Once serving, write the bound port to this file.");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port to serve Prometheus metrics on (GET /metrics); "
          "overrides delivery.metrics_listen_address. Port 0 picks a free "
          "port.");
ABSL_FLAG(std::string, metrics_port_file, "",
          "Once serving, write the metrics endpoint's bound port to this "
          "file (before --port_file is written).");
ABSL_FLAG(std::string, http_listen, "",
          "host:port to serve the JSON-over-HTTP API on (Connect protocol: "
          "POST /webhooks.v1.<Service>/<Method>); overrides "
          "http.listen_address. Port 0 picks a free port.");
ABSL_FLAG(std::string, http_port_file, "",
          "Once serving, write the HTTP API's bound port to this file "
          "(before --port_file is written).");
ABSL_FLAG(std::vector<std::string>, http_allowed_origins, {},
          "Comma-separated origins (scheme://host[:port]) whose pages may "
          "call the JSON API from a browser; added to "
          "http.allowed_origins.");
ABSL_FLAG(std::string, console_dir, "",
          "Directory of the built web console served at / on the HTTP port; "
          "overrides http.console_dir. Default: console/ beside this "
          "binary, when it is there.");
ABSL_FLAG(int, shutdown_grace_seconds, 10,
          "How long running calls and deliveries in flight may take to "
          "finish at shutdown.");
ABSL_FLAG(std::vector<std::string>, allowed_cidrs, {},
          "Comma-separated CIDRs that deliveries may reach although private "
          "or loopback; added to delivery.allowed_cidrs.");
ABSL_FLAG(int, max_connections, 4096,
          "Most gRPC connections at once; more are closed as soon as they "
          "are accepted (as are connections that would leave fewer than 64 "
          "file descriptors free).");
ABSL_FLAG(std::string, ca_bundle, "",
          "PEM CA bundle to verify receivers with; overrides "
          "delivery.ca_bundle.");
ABSL_FLAG(std::string, proxy_url, "",
          "Egress proxy for deliveries, http://host:port or "
          "https://host:port (HTTP CONNECT), optionally with "
          "user:password@ before the host (visible in ps: prefer the config "
          "file); overrides delivery.proxy_url.");

namespace {

webhooks::delivery::CurlSenderOptions SenderOptions(
    const webhooks::v1::ServerConfig& config) {
  const webhooks::v1::DeliveryConfig& d = config.delivery();
  webhooks::delivery::CurlSenderOptions options;
  if (d.max_in_flight() > 0) options.max_in_flight = d.max_in_flight();
  if (d.max_per_destination() > 0) {
    options.max_per_destination = d.max_per_destination();
  }
  if (d.max_idle_connections() > 0) {
    options.max_idle_connections = d.max_idle_connections();
  }
  // Zero: the default; a negative value is left for Create to refuse.
  options.sender_threads = d.sender_threads() != 0
                               ? d.sender_threads()
                               : webhooks::delivery::DefaultSenderThreads(
                                     options.max_in_flight);
  if (d.connect_timeout_ms() > 0) {
    options.connect_timeout = absl::Milliseconds(d.connect_timeout_ms());
  }
  if (d.total_timeout_ms() > 0) {
    options.total_timeout = absl::Milliseconds(d.total_timeout_ms());
  }
  if (d.max_response_body_bytes() > 0) {
    options.max_response_body = static_cast<size_t>(d.max_response_body_bytes());
  }
  options.allow_http = config.allow_http_targets();
  options.ca_bundle = d.ca_bundle();
  options.proxy_url = d.proxy_url();
  options.allowed_cidrs.assign(d.allowed_cidrs().begin(),
                               d.allowed_cidrs().end());
  return options;
}

void Log(std::string_view message) {
  std::string line =
      webhooks::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                        absl::UTCTimeZone()),
                       " webhookd: ", message, "\n");
  fputs(line.c_str(), stderr);
}

int Fail(const absl::Status& status) {
  Log(webhooks::StrCat("fatal: ", status.ToString()));
  return 1;
}

// Writes atomically: readers never see a partial file.
absl::Status WritePortFile(const std::string& path, int port) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out)
      return absl::UnavailableError(webhooks::StrCat("cannot write ", tmp));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(webhooks::StrCat("cannot rename to ", path));
  }
  return absl::OkStatus();
}

// console/ beside the running binary when it holds index.html (the build
// puts the console there), else "" (no console).
std::string DefaultConsoleDir() {
  std::error_code error;
  const std::filesystem::path exe =
      std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return "";
  const std::filesystem::path dir = exe.parent_path() / "console";
  return std::filesystem::is_regular_file(dir / "index.html", error)
             ? dir.string()
             : "";
}

}  // namespace

int main(int argc, char** argv) {
  webhooks::UseHugePageHeap(argv);
  absl::SetProgramUsageMessage(
      "webhookd: webhook delivery service. See README.md.");
  // --help lists this file's flags (Abseil's default looks for a file named
  // after the program); --helpfull lists Abseil's own too.
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "server/main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil checks every lock for deadlock cycles through a global
  // graph (about 4x the cost of a lock); the tests keep the check on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Signals are taken by sigwait below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  webhooks::v1::ServerConfig config;
  if (!absl::GetFlag(FLAGS_config).empty()) {
    absl::StatusOr<webhooks::v1::ServerConfig> loaded =
        webhooks::server::LoadConfigFile(absl::GetFlag(FLAGS_config));
    if (!loaded.ok()) return Fail(loaded.status());
    config = *std::move(loaded);
  }
  if (!absl::GetFlag(FLAGS_listen).empty()) {
    config.set_listen_address(absl::GetFlag(FLAGS_listen));
  }
  if (!absl::GetFlag(FLAGS_data_dir).empty()) {
    config.set_data_dir(absl::GetFlag(FLAGS_data_dir));
  }
  if (!absl::GetFlag(FLAGS_postgres_dsn).empty()) {
    config.mutable_storage()->mutable_postgres()->set_dsn(
        absl::GetFlag(FLAGS_postgres_dsn));
  }
  if (!absl::GetFlag(FLAGS_node_id).empty()) {
    config.mutable_cluster()->set_node_id(absl::GetFlag(FLAGS_node_id));
  }
  if (absl::GetFlag(FLAGS_allow_http_targets)) {
    config.set_allow_http_targets(true);
  }
  for (const std::string& cidr : absl::GetFlag(FLAGS_allowed_cidrs)) {
    config.mutable_delivery()->add_allowed_cidrs(cidr);
  }
  if (!absl::GetFlag(FLAGS_ca_bundle).empty()) {
    config.mutable_delivery()->set_ca_bundle(absl::GetFlag(FLAGS_ca_bundle));
  }
  if (!absl::GetFlag(FLAGS_proxy_url).empty()) {
    config.mutable_delivery()->set_proxy_url(absl::GetFlag(FLAGS_proxy_url));
  }
  if (!absl::GetFlag(FLAGS_metrics_listen).empty()) {
    config.mutable_delivery()->set_metrics_listen_address(
        absl::GetFlag(FLAGS_metrics_listen));
  }
  if (!absl::GetFlag(FLAGS_metrics_port_file).empty() &&
      config.delivery().metrics_listen_address().empty()) {
    return Fail(absl::InvalidArgumentError(
        "--metrics_port_file needs a metrics address (--metrics_listen or "
        "delivery.metrics_listen_address)"));
  }
  if (!absl::GetFlag(FLAGS_http_listen).empty()) {
    config.mutable_http()->set_listen_address(absl::GetFlag(FLAGS_http_listen));
  }
  for (const std::string& origin : absl::GetFlag(FLAGS_http_allowed_origins)) {
    config.mutable_http()->add_allowed_origins(origin);
  }
  if (!absl::GetFlag(FLAGS_console_dir).empty()) {
    config.mutable_http()->set_console_dir(absl::GetFlag(FLAGS_console_dir));
  } else if (config.http().console_dir().empty()) {
    config.mutable_http()->set_console_dir(DefaultConsoleDir());
  }
  if (!absl::GetFlag(FLAGS_http_port_file).empty() &&
      config.http().listen_address().empty()) {
    return Fail(absl::InvalidArgumentError(
        "--http_port_file needs an HTTP address (--http_listen or "
        "http.listen_address)"));
  }
  if (absl::Status s = webhooks::server::FinalizeConfig(config); !s.ok()) {
    return Fail(s);
  }

  absl::StatusOr<webhooks::server::FdLimit> fd_limit =
      webhooks::server::RaiseFdLimit();
  if (!fd_limit.ok()) return Fail(fd_limit.status());

  absl::StatusOr<webhooks::storage::StorePtr> store =
      webhooks::server::OpenStore(config);
  if (!store.ok()) return Fail(store.status());

  absl::StatusOr<std::unique_ptr<webhooks::delivery::CurlSender>> sender =
      webhooks::delivery::CurlSender::Create(SenderOptions(config));
  if (!sender.ok()) return Fail(sender.status());

  webhooks::server::InstallAcceptGuard(
      {.max_connections = absl::GetFlag(FLAGS_max_connections)});
  webhooks::SystemClock clock;
  webhooks::SecureRandom random;
  absl::StatusOr<webhooks::server::ApplicationPtr> app =
      webhooks::server::Application::Start(config, *std::move(store),
                                           *std::move(sender), &clock, &random);
  if (!app.ok()) return Fail(app.status());

  Log(webhooks::StrCat("serving on port ", (*app)->port(), " (",
                       config.listen_address(), "), data in ",
                       webhooks::server::DescribeStore(config),
                       "; heap huge pages ",
                       webhooks::HugePageHeapState(), "; up to ",
                       absl::GetFlag(FLAGS_max_connections),
                       " connections, nofile limit ", fd_limit->soft));
  if ((*app)->open_mode()) {
    Log("no tokens configured: every caller is treated as admin; listening "
        "on loopback only");
  }
  if (config.allow_http_targets()) {
    Log("development mode: http:// target URLs are accepted");
  }
  if ((*app)->metrics_port() != 0) {
    Log(webhooks::StrCat("metrics on port ", (*app)->metrics_port(), " (",
                         config.delivery().metrics_listen_address(),
                         "), GET /metrics"));
  }
  if ((*app)->http_port() != 0) {
    Log(webhooks::StrCat("JSON API on port ", (*app)->http_port(), " (",
                         config.http().listen_address(),
                         "), POST /webhooks.v1.<Service>/<Method>"));
    Log(config.http().console_dir().empty()
            ? std::string("web console not installed (no console/ beside "
                          "this binary; see --console_dir)")
            : webhooks::StrCat("web console at / on port ",
                               (*app)->http_port(), " from ",
                               config.http().console_dir()));
    if (config.http().allowed_origins_size() > 0) {
      Log(webhooks::StrCat("browser calls allowed from ",
                           config.http().allowed_origins_size(),
                           " other origin(s) (http.allowed_origins)"));
    }
  }
  if (!absl::GetFlag(FLAGS_http_port_file).empty()) {
    absl::Status written = WritePortFile(absl::GetFlag(FLAGS_http_port_file),
                                         (*app)->http_port());
    if (!written.ok()) return Fail(written);
  }
  // Before --port_file: whoever waits for that one finds this one too.
  if (!absl::GetFlag(FLAGS_metrics_port_file).empty()) {
    absl::Status written = WritePortFile(absl::GetFlag(FLAGS_metrics_port_file),
                                         (*app)->metrics_port());
    if (!written.ok()) return Fail(written);
  }
  if (!absl::GetFlag(FLAGS_port_file).empty()) {
    absl::Status written =
        WritePortFile(absl::GetFlag(FLAGS_port_file), (*app)->port());
    if (!written.ok()) return Fail(written);
  }

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  Log(webhooks::StrCat("received signal ", signal_number, ", shutting down"));
  (*app)->Shutdown(absl::Seconds(absl::GetFlag(FLAGS_shutdown_grace_seconds)));
  app->reset();
  Log("stopped");
  return 0;
}
