// A real `webhookd` process for end-to-end tests.
//
//   ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> server,
//                        ServerProcess::Start(R"pb(tokens { ... })pb"));
//   Api api(server->NewChannel(), "admin-token-0123456789");
//   ...
//   server->Kill9();
//   ASSERT_TRUE(server->Restart().ok());
//
// Each server gets a fresh temporary directory holding its config file, its
// RocksDB data directory, its port file and a log of its stderr. The
// destructor kills the process and removes the directory; when the current
// test has failed (or WEBHOOKD_E2E_DUMP_LOGS is set) it first prints the
// server's log.
#ifndef WEBHOOKS_TESTS_SERVER_PROCESS_H_
#define WEBHOOKS_TESTS_SERVER_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"

namespace webhooks::e2e {

// The path of the server binary under test (set by CMake).
std::string WebhookdBinary();

class ServerProcess {
 public:
  // Writes `config_text` (ServerConfig in text format) and starts the server
  // with `--listen=127.0.0.1:0 --data_dir=... --port_file=... --config=...`
  // followed by `extra_flags`. Waits up to `startup_timeout` for the port
  // file. On failure the status message includes the server's stderr.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      std::string_view config_text, std::vector<std::string> extra_flags = {},
      absl::Duration startup_timeout = absl::Seconds(20));

  // Starts one server per entry of `flags_each`, all with `config_text`,
  // at the same time (every process is spawned before any is waited for).
  static absl::StatusOr<std::vector<std::unique_ptr<ServerProcess>>> StartAll(
      std::string_view config_text,
      std::vector<std::vector<std::string>> flags_each,
      absl::Duration startup_timeout = absl::Seconds(30));

  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess();

  // "127.0.0.1:<port>" of the running server.
  const std::string& address() const { return address_; }
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& config_path() const { return config_path_; }
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // A new insecure channel to address().
  std::shared_ptr<grpc::Channel> NewChannel() const;

  // SIGKILL and reap. No-op when not running.
  absl::Status Kill9();

  // Sends `signal` and reaps within `timeout` (then SIGKILL and
  // DEADLINE_EXCEEDED). Returns the exit code, or 128 + signal number when
  // the process died of a signal.
  absl::StatusOr<int> Stop(int signal,
                           absl::Duration timeout = absl::Seconds(15));
  // Stop(SIGTERM).
  absl::StatusOr<int> Terminate(absl::Duration timeout = absl::Seconds(15));

  // Stops the server if running (SIGTERM) and starts it again with the same
  // config file, data directory and flags, on a new port.
  absl::Status Restart();

  // Replaces the config file; takes effect at the next Restart().
  absl::Status RewriteConfig(std::string_view config_text);

  // Runs another server on the same data directory and config (with its own
  // port file) and waits up to `timeout` for it to exit. Returns its exit
  // code as Terminate() does; DEADLINE_EXCEEDED (after killing it) when it is
  // still running, or when it came up and wrote its port file (then the
  // message says so).
  absl::StatusOr<int> RunSecondInstance(absl::Duration timeout);

  // Everything the server wrote to stderr/stdout so far, over all starts.
  std::string Log() const;
  // Prints Log() to stderr with a header.
  void DumpLog() const;

 private:
  ServerProcess(std::string dir, std::vector<std::string> extra_flags);

  // A server with its directory and config file, not yet running.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Create(
      std::string_view config_text, std::vector<std::string> extra_flags);
  absl::Status Launch(absl::Duration startup_timeout);  // StartProcess + AwaitPortFile
  absl::Status StartProcess();  // logs the start, spawns
  absl::Status AwaitPortFile(absl::Time deadline);
  absl::StatusOr<pid_t> Spawn(const std::string& port_file) const;

  std::string dir_;
  std::string data_dir_;
  std::string config_path_;
  std::string port_file_;
  std::string log_path_;
  std::vector<std::string> extra_flags_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string address_;
  int starts_ = 0;
};

}  // namespace webhooks::e2e

#endif  // WEBHOOKS_TESTS_SERVER_PROCESS_H_
