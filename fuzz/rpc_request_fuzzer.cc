// Request validation of each RPC, from the protobuf bytes a client sends.
// An input is a sequence of calls, each [rpc][length: 2 bytes LE][request
// bytes]; the low 5 bits of `rpc` pick the RPC (the table below) and the
// high bit makes the caller the scoped principal "alice" instead of an
// admin. Each call runs what its handler runs (server/handlers/): the
// converters, then the domain over a fresh MemoryStore, so that a Create
// followed by a Get or an Update reaches the stored record.
//
// Oracles: no call answers INTERNAL, UNKNOWN or DATA_LOSS; every response
// serializes into bytes that parse back (what a client does).
// Not covered: Redeliver, RecoverFailedDeliveries and WatchOutcomes, which
// need the dispatcher's threads; their only input checks are the
// ValidateResourceId calls covered through GetDelivery and ListAttempts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/event_validation.h"
#include "core/validation.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_domain.h"
#include "fuzz/rpc_calls.h"

namespace {

using webhooks::fuzz::FuzzDomain;

void CheckStatus(const absl::Status& status) {
  FUZZ_CHECK(status.code() != absl::StatusCode::kInternal);
  FUZZ_CHECK(status.code() != absl::StatusCode::kUnknown);
  FUZZ_CHECK(status.code() != absl::StatusCode::kDataLoss);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const webhooks::v1::ServerConfig* config =
      new webhooks::v1::ServerConfig();
  absl::StatusOr<std::unique_ptr<FuzzDomain>> domain = FuzzDomain::Open(*config);
  FUZZ_CHECK(domain.ok());
  for (int calls = 0; size >= 3 && calls < 16; ++calls) {
    const uint8_t rpc = data[0];
    size_t length = data[1] | (static_cast<size_t>(data[2]) << 8);
    data += 3;
    size -= 3;
    if (length > size) length = size;
    const std::string bytes(reinterpret_cast<const char*>(data), length);
    data += length;
    size -= length;
    const webhooks::core::Scope scope =
        (rpc & 0x80) ? webhooks::core::Scope::OwnedBy("alice")
                     : webhooks::core::Scope::All();
    (**domain).clock.Advance(absl::Milliseconds(1));
    CheckStatus(webhooks::fuzz::RunCall(rpc & 0x1f, bytes, scope, **domain));
  }
  return 0;
}
