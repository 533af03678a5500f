#include "bench/node_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "bench/stats.h"
#include "common/strings.h"

namespace webhooks::bench {
namespace {

bool WriteFile(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

// The number in `path` once the file holds one; 0 until then.
int ReadPort(const std::string& path) {
  std::ifstream in(path);
  int port = 0;
  if (!(in >> port)) return 0;
  return port;
}

// Fields of /proc/<pid>/stat after the command name: [0] is the state,
// [1] the parent, [11..14] utime, stime, cutime, cstime.
std::vector<std::string> StatFields(pid_t pid) {
  std::ifstream in(StrCat("/proc/", pid, "/stat"));
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  const size_t close = s.rfind(')');
  if (close == std::string::npos) return {};
  return absl::StrSplit(s.substr(close + 2), ' ', absl::SkipEmpty());
}

double Ticks(const std::vector<std::string>& fields, size_t from, size_t to) {
  static const double kHz = static_cast<double>(sysconf(_SC_CLK_TCK));
  double sum = 0;
  for (size_t i = from; i < to && i < fields.size(); ++i) {
    int64_t v = 0;
    if (absl::SimpleAtoi(fields[i], &v)) sum += static_cast<double>(v);
  }
  return sum / kHz;
}

void SleepSeconds(double s) { usleep(static_cast<useconds_t>(s * 1e6)); }

}  // namespace

double Scrape::Get(std::string_view name) const {
  auto it = values.find(name);
  return it == values.end() ? 0 : it->second;
}

absl::StatusOr<std::unique_ptr<NodeProcess>> NodeProcess::Start(
    const std::string& binary, const std::string& dir,
    std::string_view config_text, const std::vector<std::string>& flags,
    double timeout_s) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  const std::string config = dir + "/config.textproto";
  const std::string port_file = dir + "/port";
  const std::string metrics_port_file = dir + "/metrics_port";
  std::filesystem::remove(port_file, error);
  std::filesystem::remove(metrics_port_file, error);
  if (!WriteFile(config, config_text)) {
    return absl::InternalError(StrCat("cannot write ", config));
  }
  std::vector<std::string> args = {
      binary, "--config=" + config, "--listen=127.0.0.1:0",
      "--port_file=" + port_file, "--metrics_listen=127.0.0.1:0",
      "--metrics_port_file=" + metrics_port_file};
  args.insert(args.end(), flags.begin(), flags.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log = dir + "/log";
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  std::unique_ptr<NodeProcess> node(new NodeProcess(pid, dir));
  const double deadline = Now() + timeout_s;
  while (Now() < deadline) {
    node->port_ = ReadPort(port_file);
    node->metrics_port_ = ReadPort(metrics_port_file);
    if (node->port_ > 0 && node->metrics_port_ > 0) return node;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      node->pid_ = -1;
      std::ifstream in(log);
      std::stringstream text;
      text << in.rdbuf();
      return absl::InternalError(
          StrCat(binary, " exited at start-up; its log:\n", text.str()));
    }
    SleepSeconds(0.02);
  }
  return absl::DeadlineExceededError(
      StrCat("webhookd did not start within ", timeout_s, " s; see ", log));
}

NodeProcess::~NodeProcess() { Stop(); }

std::string NodeProcess::address() const {
  return StrCat("127.0.0.1:", port_);
}

void NodeProcess::Stop(double timeout_s) {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  const double deadline = Now() + timeout_s;
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (Now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    SleepSeconds(0.01);
  }
  pid_ = -1;
}

absl::StatusOr<Scrape> NodeProcess::ReadMetrics() const {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket");
  timeval tv{.tv_sec = 60, .tv_usec = 0};  // a depth scan may take seconds
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(metrics_port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::UnavailableError(StrCat("connect metrics: ", strerror(errno)));
  }
  const std::string request =
      "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return absl::UnavailableError("send metrics request");
  }
  std::string response;
  char buffer[16384];
  for (;;) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    response.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (body == std::string::npos) return absl::UnavailableError("no response");
  Scrape out;
  for (absl::string_view line :
       absl::StrSplit(absl::string_view(response).substr(body + 4), '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t name_end = line.find_first_of("{ ");
    const size_t value_at = line.rfind(' ');
    if (name_end == absl::string_view::npos || value_at == absl::string_view::npos) {
      continue;
    }
    double v = 0;
    if (!absl::SimpleAtod(line.substr(value_at + 1), &v)) continue;
    out.values[std::string(line.substr(0, name_end))] += v;
  }
  return out;
}

std::string DefaultWebhookdBinary() {
  std::error_code error;
  const std::filesystem::path self =
      std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return "webhookd";
  return (self.parent_path().parent_path() / "server" / "webhookd").string();
}

double ProcessCpuSeconds(pid_t pid) {
  return Ticks(StatFields(pid), 11, 13);
}

double PostgresCpuSeconds(pid_t postmaster) {
  if (postmaster <= 0) return 0;
  double sum = Ticks(StatFields(postmaster), 11, 15);
  const std::string parent = std::to_string(postmaster);
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    const std::string name = entry.path().filename().string();
    pid_t pid = 0;
    if (!absl::SimpleAtoi(name, &pid)) continue;
    const std::vector<std::string> fields = StatFields(pid);
    if (fields.size() > 14 && fields[1] == parent) sum += Ticks(fields, 11, 13);
  }
  return sum;
}

}  // namespace webhooks::bench
