// Every RPC of the given gRPC services as JSON (or binary proto) over
// HTTP/1.1, following the Connect protocol
// (https://connectrpc.com/docs/protocol):
//
//   POST /webhooks.v1.SubscriptionService/CreateSubscription
//   Content-Type: application/json        (or application/proto)
//   Authorization: Bearer <token>
//   {"subscription": {...}}
//
// Unary calls answer 200 with the response message, or the Connect error
// {"code","message","details"} with its HTTP status. Server-streaming calls
// take application/connect+json (or +proto) enveloped requests and answer
// enveloped messages and an end-of-stream message.
//
// Generic: the method is looked up by its path in the generated descriptor
// pool, and the call goes to the running gRPC server through its in-process
// channel (request bytes in, response bytes out), so interceptors,
// authentication, handlers and validation are exactly gRPC's. The
// Authorization header is forwarded as `authorization` metadata, and
// Connect-Timeout-Ms becomes the call's deadline.
//
//   ConnectGateway gateway(server->InProcessChannel(args),
//                          {"webhooks.v1.SubscriptionService", ...}, {});
//   HttpResponse response = gateway.Handle(request);
//
// Thread-safe.
#ifndef WEBHOOKS_SERVER_HTTP_CONNECT_GATEWAY_H_
#define WEBHOOKS_SERVER_HTTP_CONNECT_GATEWAY_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "grpcpp/channel.h"
#include "server/http/http_server.h"

namespace webhooks::server {

class ConnectGateway {
 public:
  struct Options {
    // Reported in the 413 message (the HTTP server enforces it).
    size_t max_body_bytes = 8 << 20;
    // Server streams open at once over HTTP; more end at once with
    // resource_exhausted. Each holds a connection and its thread.
    int max_streams = 128;
  };

  // `services`: full names of the services served ("webhooks.v1.X"); each
  // must be in the generated descriptor pool.
  ConnectGateway(std::shared_ptr<grpc::Channel> channel,
                 std::vector<std::string> services, const Options& options);

  // True when `path` names a method of a served service.
  bool Serves(std::string_view path) const;

  // Answers one request: 404 (unimplemented) for an unknown method, 405 for
  // another HTTP method than POST, 415 for another content type, 413 for a
  // body over the limit, 400 (invalid_argument) for a body that does not
  // parse; else the call's result.
  HttpResponse Handle(const HttpRequest& request);

 private:
  const google::protobuf::MethodDescriptor* Find(std::string_view path) const;
  HttpResponse Unary(const google::protobuf::MethodDescriptor* method,
                     const HttpRequest& request, bool json);
  HttpResponse Stream(const google::protobuf::MethodDescriptor* method,
                      const HttpRequest& request, bool json);

  const std::shared_ptr<grpc::Channel> channel_;
  const std::vector<std::string> services_;
  const Options options_;
  std::atomic<int> open_streams_{0};
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HTTP_CONNECT_GATEWAY_H_
