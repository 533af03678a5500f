#include "tests/postgres_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace webhooks::testing {
namespace {

std::string Trim(std::string s) {
  absl::StripTrailingAsciiWhitespace(&s);
  return s;
}

// The user the binaries run as when we are root: postgres.
struct RunAs {
  bool active = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

RunAs PostgresUser() {
  RunAs out;
  if (geteuid() != 0) return out;
  if (const passwd* pw = getpwnam("postgres"); pw != nullptr) {
    out = RunAs{true, pw->pw_uid, pw->pw_gid};
  }
  return out;
}

absl::StatusOr<std::string> BinDir() {
  static const std::string* const dir = [] {
    if (const char* env = getenv("WEBHOOKS_PG_BINDIR"); env && *env) {
      return new std::string(env);
    }
    std::string out;
    if (FILE* p = popen("pg_config --bindir 2>/dev/null", "r")) {
      char buf[512];
      while (fgets(buf, sizeof buf, p) != nullptr) out += buf;
      pclose(p);
    }
    return new std::string(Trim(out));
  }();
  if (dir->empty() || access((*dir + "/initdb").c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        "PostgreSQL binaries not found: set WEBHOOKS_PG_BINDIR or install "
        "postgresql (scripts/install-deps.sh)");
  }
  return *dir;
}

// Runs `argv` (argv[0] a binary of BinDir()) as the postgres user when we
// are root, with stdout and stderr captured.
absl::StatusOr<std::string> Run(const std::vector<std::string>& args) {
  absl::StatusOr<std::string> bin = BinDir();
  if (!bin.ok()) return bin.status();
  const std::string path = *bin + "/" + args[0];
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv[0] = const_cast<char*>(path.c_str());
  argv.push_back(nullptr);
  const RunAs as = PostgresUser();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    if (as.active && (setgroups(0, nullptr) != 0 || setgid(as.gid) != 0 ||
                      setuid(as.uid) != 0)) {
      _exit(126);
    }
    // The caller's directory (say, Bazel's runfiles under root's home) may
    // not be readable by the postgres user: psql and pg_basebackup warn or
    // fail there.
    if (as.active && chdir("/") != 0) _exit(126);
    execv(path.c_str(), argv.data());
    _exit(127);
  }
  close(fds[1]);
  std::string output;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(absl::StrJoin(args, " "),
                                            " failed (status ", status,
                                            "): ", output));
  }
  return output;
}

absl::StatusOr<int> FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError("bind to a free port failed");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// A fresh directory the postgres user owns. As root, under /tmp (a temp dir
// inside root's home would not be reachable by postgres).
absl::StatusOr<std::string> MakeDir() {
  const RunAs as = PostgresUser();
  std::string base = "/tmp";
  if (!as.active) {
    if (const char* env = getenv("TMPDIR"); env && *env) base = env;
  }
  std::string pattern = base + "/webhookd-pg.XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", pattern, " failed"));
  }
  const std::string sock = pattern + "/sock";
  if (mkdir(sock.c_str(), 0700) != 0) {
    return absl::InternalError("mkdir " + sock + " failed");
  }
  if (as.active && (chown(pattern.c_str(), as.uid, as.gid) != 0 ||
                    chown(sock.c_str(), as.uid, as.gid) != 0)) {
    return absl::InternalError("chown " + pattern + " failed");
  }
  return pattern;
}

absl::Status Append(const std::string& file, const std::string& text) {
  std::ofstream out(file, std::ios::app);
  out << text;
  out.close();
  if (!out) return absl::InternalError("cannot append to " + file);
  return absl::OkStatus();
}

// True while `pid` exists and is not a zombie.
bool Alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const size_t close_paren = line.rfind(')');
  return close_paren != std::string::npos && close_paren + 2 < line.size() &&
         line[close_paren + 2] != 'Z';
}

std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> out;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* e = readdir(proc)) {
    const pid_t pid = atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream stat(std::string("/proc/") + e->d_name + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    const size_t close_paren = line.rfind(')');
    if (close_paren == std::string::npos) continue;
    std::istringstream rest(line.substr(close_paren + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) out.push_back(pid);
  }
  closedir(proc);
  return out;
}

// Removes `dir` from a detached process: a cluster with many databases
// holds thousands of files, and unlinking them can take seconds that a test
// binary need not wait for at exit.
void RemoveInBackground(const std::string& dir) {
  const pid_t child = fork();
  if (child == 0) {
    if (fork() == 0) {
      setsid();
      const char* argv[] = {"rm", "-rf", dir.c_str(), nullptr};
      execvp("rm", const_cast<char* const*>(argv));
    }
    _exit(0);
  }
  if (child > 0) {
    while (waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
    return;
  }
  std::error_code error;
  std::filesystem::remove_all(dir, error);
}

}  // namespace

PostgresServer::PostgresServer(std::string dir, int port)
    : dir_(std::move(dir)), port_(port) {}

PostgresServer::~PostgresServer() {
  if (running_) {
    if (!Run({"pg_ctl", "-D", DataDir(), "-m", "immediate", "-w", "stop"})
             .ok()) {
      Kill9().IgnoreError();
    }
  }
  RemoveInBackground(dir_);
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::StartNew() {
  absl::StatusOr<std::string> dir = MakeDir();
  if (!dir.ok()) return dir.status();
  absl::StatusOr<int> port = FreePort();
  if (!port.ok()) return port.status();
  std::unique_ptr<PostgresServer> server(new PostgresServer(*dir, *port));
  absl::StatusOr<std::string> init =
      Run({"initdb", "-D", server->DataDir(), "-U", "postgres", "-A", "trust",
           "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"});
  if (!init.ok()) return init.status();
  if (absl::Status s = server->Configure(); !s.ok()) return s;
  if (absl::Status s = server->Start(); !s.ok()) return s;
  return server;
}

absl::Status PostgresServer::Configure() {
  return Append(DataDir() + "/postgresql.conf",
                absl::StrCat("\n# webhookd test harness\n",
                             "listen_addresses = '127.0.0.1'\n",
                             "port = ", port_, "\n",
                             "unix_socket_directories = '", dir_, "/sock'\n",
                             "fsync = on\n",
                             "max_connections = 300\n",
                             "shared_buffers = 32MB\n",
                             "max_wal_senders = 10\n",
                             "wal_level = replica\n"));
}

std::string PostgresServer::Dsn(std::string_view database) const {
  return absl::StrCat("host=127.0.0.1 port=", port_, " user=postgres dbname=",
                      std::string(database));
}

absl::StatusOr<std::string> PostgresServer::Sql(std::string_view database,
                                                std::string_view sql) const {
  absl::StatusOr<std::string> out =
      Run({"psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h",
           "127.0.0.1", "-p", std::to_string(port_), "-U", "postgres", "-d",
           std::string(database), "-c", std::string(sql)});
  if (!out.ok()) return out.status();
  return Trim(*out);
}

absl::StatusOr<std::string> PostgresServer::CreateDatabase(
    std::string_view name) {
  absl::StatusOr<std::string> done =
      Sql("postgres", absl::StrCat("CREATE DATABASE \"", std::string(name), "\""));
  if (!done.ok()) return done.status();
  return Dsn(name);
}

absl::Status PostgresServer::Start() {
  absl::StatusOr<std::string> out =
      Run({"pg_ctl", "-D", DataDir(), "-l", dir_ + "/log", "-w", "-t", "60",
           "start"});
  if (!out.ok()) {
    std::ifstream log(dir_ + "/log");
    std::stringstream text;
    text << log.rdbuf();
    return absl::InternalError(
        absl::StrCat(out.status().message(), "\nserver log:\n", text.str()));
  }
  running_ = true;
  return absl::OkStatus();
}

absl::Status PostgresServer::Stop() {
  absl::StatusOr<std::string> out =
      Run({"pg_ctl", "-D", DataDir(), "-m", "fast", "-w", "-t", "60", "stop"});
  if (!out.ok()) return out.status();
  running_ = false;
  return absl::OkStatus();
}

int PostgresServer::postmaster_pid() const {
  std::ifstream pid_file(DataDir() + "/postmaster.pid");
  pid_t pid = 0;
  if (!(pid_file >> pid) || pid <= 0) return 0;
  return pid;
}

absl::Status PostgresServer::Kill9() {
  const pid_t pid = postmaster_pid();
  if (pid <= 0) {
    return absl::FailedPreconditionError("no postmaster.pid: not running");
  }
  // Like a crash of the machine: every server process dies at once.
  const std::vector<pid_t> children = ChildrenOf(pid);
  kill(pid, SIGKILL);
  for (pid_t child : children) kill(child, SIGKILL);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  auto any_alive = [&] {
    if (Alive(pid)) return true;
    for (pid_t child : children) {
      if (Alive(child)) return true;
    }
    return false;
  };
  while (any_alive() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  // The lock files name the dead postmaster, which may linger as a zombie
  // nobody reaps; a rebooted machine would not have them.
  std::error_code error;
  std::filesystem::remove(DataDir() + "/postmaster.pid", error);
  const std::string socket = absl::StrCat(dir_, "/sock/.s.PGSQL.", port_);
  std::filesystem::remove(socket + ".lock", error);
  std::filesystem::remove(socket, error);
  running_ = false;
  return absl::OkStatus();
}

absl::Status PostgresServer::Restart() {
  if (running_) {
    if (absl::Status s = Stop(); !s.ok()) return s;
  }
  return Start();
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::StartStandby(
    bool synchronous) {
  absl::StatusOr<std::string> dir = MakeDir();
  if (!dir.ok()) return dir.status();
  absl::StatusOr<int> port = FreePort();
  if (!port.ok()) return port.status();
  std::unique_ptr<PostgresServer> standby(new PostgresServer(*dir, *port));
  const std::string name = absl::StrCat("standby_", *port);
  absl::StatusOr<std::string> copied =
      Run({"pg_basebackup", "-h", "127.0.0.1", "-p", std::to_string(port_),
           "-U", "postgres", "-D", standby->DataDir(), "-R", "-X", "stream",
           "-c", "fast", "--no-sync"});
  if (!copied.ok()) return copied.status();
  if (absl::Status s = standby->Configure(); !s.ok()) return s;
  // Later lines win: name the standby so synchronous_standby_names can.
  if (absl::Status s = Append(
          standby->DataDir() + "/postgresql.auto.conf",
          absl::StrCat("primary_conninfo = 'host=127.0.0.1 port=", port_,
                       " user=postgres application_name=", name, "'\n"));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = standby->Start(); !s.ok()) return s;
  if (synchronous) {
    absl::StatusOr<std::string> set = Sql(
        "postgres", absl::StrCat("ALTER SYSTEM SET synchronous_standby_names "
                                 "= '\"",
                                 name, "\"'"));
    if (!set.ok()) return set.status();
    set = Sql("postgres", "SELECT pg_reload_conf()");
    if (!set.ok()) return set.status();
  }
  const std::string query = absl::StrCat(
      "SELECT count(*) FROM pg_stat_replication WHERE application_name = '",
      name, "' AND state = 'streaming'",
      synchronous ? " AND sync_state = 'sync'" : "");
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  for (;;) {
    absl::StatusOr<std::string> count = Sql("postgres", query);
    if (count.ok() && *count == "1") return standby;
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("standby ", name, " did not start streaming"));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

absl::Status PostgresServer::Promote() {
  absl::StatusOr<std::string> out =
      Run({"pg_ctl", "-D", DataDir(), "-w", "-t", "60", "promote"});
  if (!out.ok()) return out.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  for (;;) {
    absl::StatusOr<std::string> recovering =
        Sql("postgres", "SELECT pg_is_in_recovery()");
    if (recovering.ok() && *recovering == "f") return absl::OkStatus();
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError("standby did not leave recovery");
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

std::string PostgresServer::MultiHostDsn(
    const std::vector<const PostgresServer*>& servers,
    std::string_view database) {
  std::vector<std::string> hosts, ports;
  for (const PostgresServer* s : servers) {
    hosts.push_back("127.0.0.1");
    ports.push_back(std::to_string(s->port()));
  }
  return absl::StrCat("host=", absl::StrJoin(hosts, ","), " port=",
                      absl::StrJoin(ports, ","), " user=postgres dbname=",
                      std::string(database), " target_session_attrs=read-write");
}

}  // namespace webhooks::testing
