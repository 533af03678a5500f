#include "server/http/http_api.h"

#include "server/http/openapi.h"
#include "webhooks/v1/api_key.grpc.pb.h"
#include "webhooks/v1/delivery.grpc.pb.h"
#include "webhooks/v1/dialect.grpc.pb.h"
#include "webhooks/v1/event.grpc.pb.h"
#include "webhooks/v1/principal.grpc.pb.h"
#include "webhooks/v1/subscription.grpc.pb.h"

namespace webhooks::server {
namespace {

constexpr int kDefaultMaxBodyBytes = 8 << 20;
constexpr int kDefaultMaxConnections = 256;
constexpr int kDefaultMaxConnectionsPerIp = 64;
constexpr int kDefaultIdleSeconds = 30;

}  // namespace

std::vector<std::string> HttpApiServices() {
  // Links each file's descriptors in (the generated pool holds only what a
  // program references), for a program that has no other use for them.
  v1::CreateSubscriptionRequest::descriptor();
  v1::SetPrincipalGroupsRequest::descriptor();
  v1::CreateDialectRequest::descriptor();
  v1::PublishRequest::descriptor();
  v1::WatchOutcomesRequest::descriptor();
  v1::CreateApiKeyRequest::descriptor();
  return {v1::SubscriptionService::service_full_name(),
          v1::PrincipalService::service_full_name(),
          v1::DialectService::service_full_name(),
          v1::EventService::service_full_name(),
          v1::DeliveryService::service_full_name(),
          v1::ApiKeyService::service_full_name()};
}

absl::StatusOr<std::unique_ptr<HttpApi>> HttpApi::Start(
    const v1::HttpConfig& config, std::shared_ptr<grpc::Channel> channel) {
  HttpServer::Options options;
  options.name = "http";
  options.max_body_bytes = config.max_body_bytes() > 0
                               ? config.max_body_bytes()
                               : kDefaultMaxBodyBytes;
  options.max_connections = config.max_connections() > 0
                                ? config.max_connections()
                                : kDefaultMaxConnections;
  options.max_connections_per_ip = config.max_connections_per_ip() > 0
                                       ? config.max_connections_per_ip()
                                       : kDefaultMaxConnectionsPerIp;
  options.idle_timeout = absl::Seconds(config.idle_timeout_seconds() > 0
                                           ? config.idle_timeout_seconds()
                                           : kDefaultIdleSeconds);
  ConnectGateway::Options gateway;
  gateway.max_body_bytes = options.max_body_bytes;
  // Half the connections at most hold a stream, so unary calls always get in.
  gateway.max_streams = std::max(1, options.max_connections / 2);
  absl::StatusOr<std::string> openapi = OpenApiJson(HttpApiServices());
  if (!openapi.ok()) return openapi.status();
  absl::StatusOr<OriginPolicy> origins = OriginPolicy::Create(
      {config.allowed_origins().begin(), config.allowed_origins().end()});
  if (!origins.ok()) return origins.status();
  absl::StatusOr<ConsoleFiles> console =
      config.console_dir().empty() ? ConsoleFiles::Missing()
                                   : ConsoleFiles::Load(config.console_dir());
  if (!console.ok()) return console.status();
  std::unique_ptr<HttpApi> api(new HttpApi(
      std::make_unique<ConnectGateway>(std::move(channel), HttpApiServices(),
                                       gateway),
      *std::move(openapi), *std::move(origins), *std::move(console)));
  HttpApi* self = api.get();
  absl::StatusOr<HttpServerPtr> server =
      HttpServer::Start(config.listen_address(), options,
                        [self](const HttpRequest& request) {
                          return self->Handle(request);
                        });
  if (!server.ok()) return server.status();
  api->server_ = *std::move(server);
  return api;
}

HttpResponse HttpApi::Handle(const HttpRequest& request) {
  const bool read = request.method == "GET" || request.method == "HEAD";
  // Every call that could change something, and every API path, passes the
  // origin check (CSRF); the console's files and openapi.json are public.
  if (!read || gateway_->Serves(request.path)) {
    if (std::optional<HttpResponse> refused = origins_.Screen(request)) {
      return *std::move(refused);
    }
    if (request.path == "/openapi.json") {
      HttpResponse response =
          HttpResponse::Text(405, "405 Method Not Allowed\n");
      response.headers.emplace_back("Allow", "GET, HEAD");
      return response;
    }
    // RPC paths; others get Connect's answer for an unknown method (404).
    HttpResponse response = gateway_->Handle(request);
    origins_.Decorate(request, response);
    return response;
  }
  if (request.path == "/openapi.json") {
    return HttpResponse::Json(200, openapi_);
  }
  return console_.Handle(request);
}

}  // namespace webhooks::server
