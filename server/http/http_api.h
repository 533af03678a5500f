// The HTTP port: the Connect JSON API of the webhookd services (see
// ConnectGateway), its OpenAPI description at GET /openapi.json and the web
// console (ConsoleFiles, from http.console_dir) at every other GET path, on
// one HttpServer. Calls to the API from another origin's pages are refused
// unless allowed (OriginPolicy, http.allowed_origins); other methods on
// other paths get Connect's 404.
//
//   ASSIGN_OR_RETURN(HttpApiPtr api, HttpApi::Start(config.http(),
//       grpc_server->InProcessChannel(args)));
//   int port = api->port();
#ifndef WEBHOOKS_SERVER_HTTP_HTTP_API_H_
#define WEBHOOKS_SERVER_HTTP_HTTP_API_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "server/http/connect_gateway.h"
#include "server/http/console_files.h"
#include "server/http/http_server.h"
#include "server/http/origin_policy.h"
#include "webhooks/v1/config.pb.h"

namespace webhooks::server {

// The services served over HTTP: the six of webhooks.v1.
std::vector<std::string> HttpApiServices();

class HttpApi {
 public:
  // Serves on config.listen_address (which must be set) with `channel`
  // reaching the gRPC server, and the console from config.console_dir when
  // set. Errors as HttpServer::Start, OriginPolicy::Create and
  // ConsoleFiles::Load.
  static absl::StatusOr<std::unique_ptr<HttpApi>> Start(
      const v1::HttpConfig& config, std::shared_ptr<grpc::Channel> channel);

  // Stops serving (see HttpServer): the gRPC server must still exist, or
  // have been shut down so that open streams have ended.
  ~HttpApi() = default;

  int port() const { return server_->port(); }

  // The answer to one request (for tests without a socket).
  HttpResponse Handle(const HttpRequest& request);

 private:
  HttpApi(std::unique_ptr<ConnectGateway> gateway, std::string openapi,
          OriginPolicy origins, ConsoleFiles console)
      : gateway_(std::move(gateway)),
        openapi_(std::move(openapi)),
        origins_(std::move(origins)),
        console_(std::move(console)) {}

  const std::unique_ptr<ConnectGateway> gateway_;
  const std::string openapi_;
  const OriginPolicy origins_;
  const ConsoleFiles console_;
  HttpServerPtr server_;  // last: its threads use the rest
};

using HttpApiPtr = std::unique_ptr<HttpApi>;

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HTTP_HTTP_API_H_
