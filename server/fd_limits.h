// Descriptor limits and the accept guard of the gRPC port.
//
// gRPC 1.51's listener gives up for good on the first accept4() error it
// does not expect (EMFILE: "Failed accept4: Too many open files"), and it has
// no cap on incoming connections. webhookd therefore
//
//   - raises its soft RLIMIT_NOFILE to the hard limit at start-up
//     (RaiseFdLimit), and
//   - interposes accept4() for the whole process (fd_limits.cc defines it, so
//     the dynamic linker binds gRPC's calls to it): a connection that would
//     leave fewer than kReservedFds descriptors free, or that would make more
//     than `max_connections` descriptors beyond those open at start-up, is
//     accepted and closed at once; when accept4() itself fails with EMFILE or
//     ENFILE the guard frees a reserved descriptor, accepts and closes the
//     waiting connections, and takes the reserve back. gRPC never sees those
//     errors, so its listener keeps accepting once descriptors are free again.
//
//   ASSIGN_OR_RETURN(FdLimit limit, RaiseFdLimit());
//   InstallAcceptGuard({.max_connections = 4096});
#ifndef WEBHOOKS_SERVER_FD_LIMITS_H_
#define WEBHOOKS_SERVER_FD_LIMITS_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace webhooks::server {

// Descriptors kept free for everything but incoming connections (RocksDB
// files, outgoing deliveries, the metrics endpoint).
inline constexpr int kReservedFds = 64;

struct FdLimit {
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the limits now in
// force. INTERNAL when getrlimit/setrlimit fail.
absl::StatusOr<FdLimit> RaiseFdLimit();

struct AcceptGuardOptions {
  // Accepted connections beyond the descriptors open when the guard is
  // installed (approximate: other descriptors opened later count too).
  int max_connections = 4096;
};

// Turns the guard on (before this, accept4() behaves as usual).
void InstallAcceptGuard(const AcceptGuardOptions& options);

// Connections the guard has closed at once since it was installed.
int64_t ShedConnections();

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_FD_LIMITS_H_
