// Runs a unary RPC the same way for every handler: authenticate and
// authorize on the gRPC thread (cheap, no I/O), then do the work on a
// BlockingExecutor thread and Finish from there, so reactions never block.
//
//   return RunUnary(ctx, deps_, Operation::kReadSubscriptions,
//                   [=](const Caller& caller) -> absl::Status { ... });
#ifndef WEBHOOKS_SERVER_HANDLERS_UNARY_CALL_H_
#define WEBHOOKS_SERVER_HANDLERS_UNARY_CALL_H_

#include <map>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "server/auth.h"
#include "server/blocking_executor.h"
#include "server/grpc_status.h"

namespace webhooks::server {

// What every handler uses to run calls. The pointers outlive the server.
struct HandlerDeps {
  const Authenticator* authenticator;
  BlockingExecutor* executor;
};

// The caller of `ctx`, authorized for `operation`.
inline absl::StatusOr<Caller> AuthorizeCall(const HandlerDeps& deps,
                                            const grpc::ServerContextBase& ctx,
                                            Operation operation) {
  std::multimap<std::string_view, std::string_view> metadata;
  auto range = ctx.client_metadata().equal_range("authorization");
  for (auto it = range.first; it != range.second; ++it) {
    metadata.emplace("authorization",
                     std::string_view(it->second.data(), it->second.size()));
  }
  absl::StatusOr<Caller> caller = deps.authenticator->Authenticate(metadata);
  if (!caller.ok()) return caller.status();
  absl::Status allowed = Authorize(*caller, operation);
  if (!allowed.ok()) return allowed;
  return caller;
}

template <typename Work>
grpc::ServerUnaryReactor* RunUnary(grpc::CallbackServerContext* ctx,
                                   const HandlerDeps& deps,
                                   Operation operation, Work work) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<Caller> caller = AuthorizeCall(deps, *ctx, operation);
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  deps.executor->Schedule(
      [reactor, caller = *std::move(caller), work = std::move(work)]() {
        reactor->Finish(ToGrpcStatus(work(caller)));
      });
  return reactor;
}

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HANDLERS_UNARY_CALL_H_
