#include "server/fd_limits.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace webhooks::server {
namespace {

std::atomic<bool> guard_on{false};
// Accepted descriptors at or above this number are closed at once (besides
// the rlimit check); set by InstallAcceptGuard.
std::atomic<int> max_fd{0};
std::atomic<int64_t> shed{0};
std::atomic<int64_t> last_warning_seconds{0};

absl::Mutex reserve_mu;
int reserve_fd ABSL_GUARDED_BY(reserve_mu) = -1;

int RawAccept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  return static_cast<int>(::syscall(SYS_accept4, fd, addr, len, flags));
}

int OpenReserve() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

// Descriptor numbers from this one up are not handed to gRPC: Linux hands
// out the lowest free number, so such a number means that many are open.
int Ceiling() {
  int ceiling = max_fd.load(std::memory_order_relaxed);
  rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      limit.rlim_cur != RLIM_INFINITY) {
    const int64_t by_limit = static_cast<int64_t>(limit.rlim_cur) - kReservedFds;
    if (by_limit < ceiling) ceiling = static_cast<int>(by_limit > 0 ? by_limit : 0);
  }
  return ceiling;
}

// At most one line every 10 s (stderr: the server's log).
void WarnShed(const char* why) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  int64_t last = last_warning_seconds.load(std::memory_order_relaxed);
  if (now - last < 10 ||
      !last_warning_seconds.compare_exchange_strong(last, now)) {
    return;
  }
  std::string line = absl::StrCat(
      "webhookd: closing new gRPC connections at once (", why, "; ",
      shed.load(std::memory_order_relaxed),
      " so far); see --max_connections and the nofile limit\n");
  fputs(line.c_str(), stderr);
}

void Shed(int fd, const char* why) {
  ::close(fd);
  shed.fetch_add(1, std::memory_order_relaxed);
  WarnShed(why);
}

// Out of descriptors: frees the reserve to accept and close one waiting
// connection. Returns false (errno set) when there was none, or no reserve.
bool ShedOneWithReserve(int listener, int flags) {
  absl::MutexLock lock(&reserve_mu);
  if (reserve_fd < 0) reserve_fd = OpenReserve();
  if (reserve_fd < 0) {
    errno = EAGAIN;
    return false;
  }
  ::close(reserve_fd);
  reserve_fd = -1;
  const int fd = RawAccept4(listener, nullptr, nullptr, flags);
  const int saved = errno;
  if (fd >= 0) Shed(fd, "out of file descriptors");
  reserve_fd = OpenReserve();
  errno = saved;
  return fd >= 0;
}

int GuardedAccept4(int listener, sockaddr* addr, socklen_t* len, int flags) {
  for (;;) {
    const int fd = RawAccept4(listener, addr, len, flags);
    if (fd >= 0) {
      if (fd < Ceiling()) return fd;
      Shed(fd, "connection limit reached");
      continue;
    }
    if (errno != EMFILE && errno != ENFILE) return -1;
    // Drain what waits; gRPC then sees EAGAIN and waits for the next one.
    if (!ShedOneWithReserve(listener, flags)) {
      if (errno == EINTR) continue;
      errno = EAGAIN;
      return -1;
    }
  }
}

}  // namespace

absl::StatusOr<FdLimit> RaiseFdLimit() {
  rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return absl::InternalError(
        absl::StrCat("getrlimit(RLIMIT_NOFILE): ", strerror(errno)));
  }
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      return absl::InternalError(
          absl::StrCat("setrlimit(RLIMIT_NOFILE): ", strerror(errno)));
    }
  }
  return FdLimit{static_cast<uint64_t>(limit.rlim_cur),
                 static_cast<uint64_t>(limit.rlim_max)};
}

void InstallAcceptGuard(const AcceptGuardOptions& options) {
  {
    absl::MutexLock lock(&reserve_mu);
    if (reserve_fd < 0) reserve_fd = OpenReserve();
  }
  // The lowest free descriptor approximates how many start-up holds.
  int base = OpenReserve();
  if (base >= 0) ::close(base);
  if (base < 0) base = 0;
  max_fd.store(base + options.max_connections, std::memory_order_relaxed);
  guard_on.store(true, std::memory_order_release);
}

int64_t ShedConnections() { return shed.load(std::memory_order_relaxed); }

}  // namespace webhooks::server

// Every accept4() of the process, gRPC's included, comes here.
extern "C" int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  namespace server = webhooks::server;
  if (!server::guard_on.load(std::memory_order_acquire)) {
    return server::RawAccept4(fd, addr, len, flags);
  }
  return server::GuardedAccept4(fd, addr, len, flags);
}
