#include "tests/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"

#ifndef WEBHOOKD_BINARY
#define WEBHOOKD_BINARY "webhookd"
#endif

namespace webhooks::e2e {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(20);

absl::Status ErrnoStatus(std::string_view what) {
  return absl::InternalError(
      absl::StrCat(std::string(what), ": ", std::strerror(errno)));
}

absl::Status WriteFileAtomically(const std::string& path,
                                 std::string_view text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
    out << text;
    if (!out.flush()) return absl::InternalError("write failed: " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return ErrnoStatus("rename " + tmp);
  }
  return absl::OkStatus();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void AppendToFile(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << text;
}

bool FileExists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// Exit code, or 128 + signal number.
int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Waits for `pid` until `deadline`; returns the decoded status, or nullopt
// when it is still running.
std::optional<int> WaitUntil(pid_t pid, absl::Time deadline) {
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return DecodeWaitStatus(status);
    if (r < 0 && errno != EINTR) return -1;
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(kPollInterval);
  }
}

// The port number in a port file ("<port>\n"), or 0 when not (yet) valid.
int ReadPortFile(const std::string& path) {
  if (!FileExists(path)) return 0;
  std::string text = ReadFile(path);
  int port = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &port)) return 0;
  return port > 0 && port < 65536 ? port : 0;
}

}  // namespace

std::string WebhookdBinary() {
  if (const char* env = std::getenv("WEBHOOKD_BINARY"); env && *env) {
    return env;
  }
  return WEBHOOKD_BINARY;
}

ServerProcess::ServerProcess(std::string dir,
                             std::vector<std::string> extra_flags)
    : dir_(std::move(dir)),
      data_dir_(dir_ + "/data"),
      config_path_(dir_ + "/webhookd.textproto"),
      port_file_(dir_ + "/port"),
      log_path_(dir_ + "/webhookd.log"),
      extra_flags_(std::move(extra_flags)) {}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Create(
    std::string_view config_text, std::vector<std::string> extra_flags) {
  std::string base = ::testing::TempDir();
  if (base.empty()) base = "/tmp/";
  if (base.back() != '/') base += '/';
  std::string tmpl = base + "webhookd_e2e_XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return ErrnoStatus("mkdtemp");
  std::unique_ptr<ServerProcess> server(
      new ServerProcess(tmpl, std::move(extra_flags)));
  if (absl::Status s = server->RewriteConfig(config_text); !s.ok()) return s;
  return server;
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    std::string_view config_text, std::vector<std::string> extra_flags,
    absl::Duration startup_timeout) {
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      Create(config_text, std::move(extra_flags));
  if (!server.ok()) return server.status();
  if (absl::Status s = (*server)->Launch(startup_timeout); !s.ok()) return s;
  return server;
}

absl::StatusOr<std::vector<std::unique_ptr<ServerProcess>>>
ServerProcess::StartAll(std::string_view config_text,
                        std::vector<std::vector<std::string>> flags_each,
                        absl::Duration startup_timeout) {
  std::vector<std::unique_ptr<ServerProcess>> servers;
  for (std::vector<std::string>& flags : flags_each) {
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        Create(config_text, std::move(flags));
    if (!server.ok()) return server.status();
    servers.push_back(*std::move(server));
  }
  for (auto& server : servers) {
    if (absl::Status s = server->StartProcess(); !s.ok()) return s;
  }
  const absl::Time deadline = absl::Now() + startup_timeout;
  for (auto& server : servers) {
    if (absl::Status s = server->AwaitPortFile(deadline); !s.ok()) return s;
  }
  return servers;
}

ServerProcess::~ServerProcess() {
  const char* dump = std::getenv("WEBHOOKD_E2E_DUMP_LOGS");
  if (::testing::Test::HasFailure() || (dump != nullptr && *dump != '\0')) {
    DumpLog();
  }
  (void)Kill9();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::shared_ptr<grpc::Channel> ServerProcess::NewChannel() const {
  grpc::ChannelArguments args;
  // Each channel gets its own connection, so a restarted server is reached
  // through a fresh one.
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  return grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(),
                                   args);
}

absl::StatusOr<pid_t> ServerProcess::Spawn(const std::string& port_file) const {
  const std::string binary = WebhookdBinary();
  std::vector<std::string> args = {
      binary,
      "--config=" + config_path_,
      "--listen=127.0.0.1:0",
      "--data_dir=" + data_dir_,
      "--port_file=" + port_file,
  };
  args.insert(args.end(), extra_flags_.begin(), extra_flags_.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();

  // Between fork and exec only async-signal-safe calls.
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus("fork");
  if (pid == 0) {
    // Die with the test process, even when it is killed.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    int in = ::open("/dev/null", O_RDONLY);
    int log = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || log < 0) ::_exit(125);
    ::dup2(in, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::execv(binary.c_str(), argv.data());
    static const char kMsg[] = "e2e harness: execv of webhookd failed\n";
    (void)!::write(2, kMsg, sizeof(kMsg) - 1);
    ::_exit(127);
  }
  return pid;
}

absl::Status ServerProcess::Launch(absl::Duration startup_timeout) {
  if (absl::Status s = StartProcess(); !s.ok()) return s;
  return AwaitPortFile(absl::Now() + startup_timeout);
}

absl::Status ServerProcess::StartProcess() {
  ::unlink(port_file_.c_str());
  ++starts_;
  AppendToFile(log_path_,
               absl::StrCat("===== e2e harness: start #", starts_, " =====\n"));
  absl::StatusOr<pid_t> pid = Spawn(port_file_);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  return absl::OkStatus();
}

absl::Status ServerProcess::AwaitPortFile(absl::Time deadline) {
  while (true) {
    if (int port = ReadPortFile(port_file_); port > 0) {
      port_ = port;
      address_ = absl::StrCat("127.0.0.1:", port);
      return absl::OkStatus();
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::FailedPreconditionError(
          absl::StrCat("webhookd exited with code ", DecodeWaitStatus(status),
                       " before writing its port file; log:\n", Log()));
    }
    if (absl::Now() >= deadline) {
      (void)Kill9();
      return absl::DeadlineExceededError(
          absl::StrCat("webhookd wrote no port file in time; log:\n", Log()));
    }
    absl::SleepFor(kPollInterval);
  }
}

absl::Status ServerProcess::Kill9() {
  if (pid_ <= 0) return absl::OkStatus();
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return absl::OkStatus();
}

absl::StatusOr<int> ServerProcess::Terminate(absl::Duration timeout) {
  return Stop(SIGTERM, timeout);
}

absl::StatusOr<int> ServerProcess::Stop(int signal, absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("server not running");
  ::kill(pid_, signal);
  std::optional<int> code = WaitUntil(pid_, absl::Now() + timeout);
  if (!code.has_value()) {
    (void)Kill9();
    return absl::DeadlineExceededError(
        absl::StrCat("webhookd still running ", absl::FormatDuration(timeout),
                     " after signal ", signal));
  }
  pid_ = -1;
  return *code;
}

absl::Status ServerProcess::Restart() {
  if (pid_ > 0) {
    absl::StatusOr<int> code = Terminate();
    if (!code.ok()) return code.status();
    if (*code != 0) {
      return absl::InternalError(
          absl::StrCat("webhookd exited with code ", *code, " on SIGTERM"));
    }
  }
  return Launch(absl::Seconds(20));
}

absl::Status ServerProcess::RewriteConfig(std::string_view config_text) {
  return WriteFileAtomically(config_path_, config_text);
}

absl::StatusOr<int> ServerProcess::RunSecondInstance(absl::Duration timeout) {
  const std::string port_file = dir_ + "/port2";
  ::unlink(port_file.c_str());
  AppendToFile(log_path_, "===== e2e harness: second instance =====\n");
  absl::StatusOr<pid_t> pid = Spawn(port_file);
  if (!pid.ok()) return pid.status();
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    if (::waitpid(*pid, &status, WNOHANG) == *pid) {
      return DecodeWaitStatus(status);
    }
    const bool serving = ReadPortFile(port_file) > 0;
    if (serving || absl::Now() >= deadline) {
      ::kill(*pid, SIGKILL);
      while (::waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
      }
      return absl::DeadlineExceededError(
          serving ? "the second instance came up and wrote its port file"
                  : "the second instance was still running at the deadline");
    }
    absl::SleepFor(kPollInterval);
  }
}

std::string ServerProcess::Log() const { return ReadFile(log_path_); }

void ServerProcess::DumpLog() const {
  std::fprintf(stderr,
               "----- webhookd log (%s) -----\n%s----- end of log -----\n",
               dir_.c_str(), Log().c_str());
}

}  // namespace webhooks::e2e
