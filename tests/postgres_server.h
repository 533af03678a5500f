// A real PostgreSQL server for tests: initdb into a fresh temp directory,
// pg_ctl start on a free 127.0.0.1 port (and a unix socket inside the
// directory), trust authentication, fsync on. Databases are created on
// demand; the server can be stopped, killed (SIGKILL, like a crash),
// restarted, and given a streaming standby that can be promoted.
//
//   ASSIGN_OR_RETURN(auto server, PostgresServer::StartNew());
//   ASSIGN_OR_RETURN(std::string dsn, server->CreateDatabase("t1"));
//
// The PostgreSQL binaries are found in $WEBHOOKS_PG_BINDIR, else in
// `pg_config --bindir`. Run as root (CI), they run as the `postgres` system
// user (initdb refuses root), which then owns the directory. The destructor
// stops the server and removes the directory (in a detached `rm -rf`).
#ifndef WEBHOOKS_TESTS_POSTGRES_SERVER_H_
#define WEBHOOKS_TESTS_POSTGRES_SERVER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace webhooks::testing {

class PostgresServer {
 public:
  // Creates a cluster (initdb) and starts it.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> StartNew();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  bool running() const { return running_; }
  // The postmaster's process id (from postmaster.pid); 0 when not running.
  // Its children are the server's other processes (benchmarks add up their
  // CPU time).
  int postmaster_pid() const;

  // A key=value DSN for `database` over TCP on 127.0.0.1.
  std::string Dsn(std::string_view database) const;
  // CREATE DATABASE `name` (letters, digits, '_'); returns its Dsn.
  absl::StatusOr<std::string> CreateDatabase(std::string_view name);
  // Runs `sql` with psql on `database` and returns what it printed (tuples
  // only, unaligned, '|' between columns, trailing newline removed).
  absl::StatusOr<std::string> Sql(std::string_view database,
                                  std::string_view sql) const;

  absl::Status Start();   // pg_ctl start, waiting until it accepts
  absl::Status Stop();    // fast shutdown
  absl::Status Kill9();   // SIGKILL the postmaster and its processes
  absl::Status Restart();  // Stop (unless stopped) and Start

  // A streaming replica of this server (pg_basebackup -R) in its own
  // directory on its own port, started and streaming when this returns.
  // With `synchronous`, this server's commits wait for it
  // (synchronous_standby_names).
  absl::StatusOr<std::unique_ptr<PostgresServer>> StartStandby(
      bool synchronous);
  // Promotes this standby; returns once it accepts writes.
  absl::Status Promote();

  // One DSN naming every server (libpq tries them in order), for `database`,
  // with target_session_attrs=read-write: it reaches the primary.
  static std::string MultiHostDsn(
      const std::vector<const PostgresServer*>& servers,
      std::string_view database);

 private:
  PostgresServer(std::string dir, int port);
  // Writes this server's port and socket directory into postgresql.conf.
  absl::Status Configure();
  std::string DataDir() const { return dir_ + "/data"; }

  const std::string dir_;  // owns data/, sock/, log
  const int port_;
  bool running_ = false;
};

}  // namespace webhooks::testing

#endif  // WEBHOOKS_TESTS_POSTGRES_SERVER_H_
