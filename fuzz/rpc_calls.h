// One RPC as its handler runs it, from the request's protobuf bytes, for
// rpc_request_fuzzer.cc.
#ifndef WEBHOOKS_FUZZ_RPC_CALLS_H_
#define WEBHOOKS_FUZZ_RPC_CALLS_H_

#include <string>

#include "absl/status/status.h"
#include "core/subscription_registry.h"
#include "fuzz/fuzz_domain.h"

namespace webhooks::fuzz {

// Parses `bytes` as the request of RPC number `rpc` (see rpc_calls.cc; an
// unknown number is OK and does nothing) and runs it. Bytes that do not
// parse are OK (gRPC refuses them before any handler). The status is the
// handler's; a response is checked to serialize and parse back (aborts
// otherwise).
absl::Status RunCall(int rpc, const std::string& bytes,
                     const core::Scope& scope, FuzzDomain& domain);

}  // namespace webhooks::fuzz

#endif  // WEBHOOKS_FUZZ_RPC_CALLS_H_
