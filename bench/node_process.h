// webhookd as a real process for cluster_bench: spawned from the binary
// next to the benchmark's (or --webhookd), on 127.0.0.1 port 0 with its
// metrics endpoint, so that its CPU can be read from /proc and its counters
// from GET /metrics. Also the CPU of a PostgreSQL server (the postmaster
// and its children).
//
//   ASSIGN_OR_RETURN(auto node, NodeProcess::Start(binary, dir / "n1",
//                                                  config_text, {"--node_id=n1"}));
//   double cpu = ProcessCpuSeconds(node->pid());
//   ASSIGN_OR_RETURN(auto metrics, node->ReadMetrics());
//   double rt = metrics.Sum("webhookd_database_round_trips_total");
#ifndef WEBHOOKS_BENCH_NODE_PROCESS_H_
#define WEBHOOKS_BENCH_NODE_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace webhooks::bench {

// Samples of one scrape, by series name (labels dropped, values summed).
struct Scrape {
  std::map<std::string, double, std::less<>> values;
  double Get(std::string_view name) const;
};

class NodeProcess {
 public:
  // Creates `dir`, writes `config_text` (ServerConfig, text format) there
  // and starts `binary` with --config, --listen=127.0.0.1:0, --port_file,
  // --metrics_listen=127.0.0.1:0, --metrics_port_file, then `flags`.
  // Returns once both ports are known (up to `timeout_s`); the log is
  // `dir`/log.
  static absl::StatusOr<std::unique_ptr<NodeProcess>> Start(
      const std::string& binary, const std::string& dir,
      std::string_view config_text, const std::vector<std::string>& flags,
      double timeout_s = 120);
  ~NodeProcess();  // Stop()
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  std::string address() const;

  // GET /metrics.
  absl::StatusOr<Scrape> ReadMetrics() const;
  // SIGTERM, then SIGKILL after `timeout_s`; reaps.
  void Stop(double timeout_s = 20);

 private:
  NodeProcess(pid_t pid, std::string dir) : pid_(pid), dir_(std::move(dir)) {}

  pid_t pid_;
  std::string dir_;
  int port_ = 0;
  int metrics_port_ = 0;
};

// The webhookd next to this program (../server/webhookd), if there is one.
std::string DefaultWebhookdBinary();

// User + system CPU seconds of `pid` so far (0 when gone).
double ProcessCpuSeconds(pid_t pid);
// Of a PostgreSQL server: the postmaster's own and its reaped children's
// time, plus every live child's (backends, checkpointer, WAL writer, ...).
double PostgresCpuSeconds(pid_t postmaster);

}  // namespace webhooks::bench

#endif  // WEBHOOKS_BENCH_NODE_PROCESS_H_
