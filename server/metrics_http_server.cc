#include "server/metrics_http_server.h"

#include <utility>

namespace webhooks::server {

HttpResponse MetricsHttpServer::Respond(const MetricsRegistry& registry,
                                        const HttpRequest& request) {
  if (request.path != "/metrics") {
    return HttpResponse::Text(404, "404 Not Found\n");
  }
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse response =
        HttpResponse::Text(405, "405 Method Not Allowed\n");
    response.headers.emplace_back("Allow", "GET, HEAD");
    return response;
  }
  HttpResponse response;
  response.headers.emplace_back("Content-Type",
                                "text/plain; version=0.0.4; charset=utf-8");
  response.body = registry.Render();  // HEAD: the server sends no body
  return response;
}

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    std::string_view address, const MetricsRegistry* registry,
    const Options& options) {
  HttpServer::Options http;
  http.max_connections = options.max_connections;
  http.max_connections_per_ip = options.max_connections_per_ip;
  http.idle_timeout = options.io_timeout;
  http.max_head_bytes = options.max_request_bytes;
  http.max_body_bytes = 0;  // scrapes have no body
  http.close_after_response = true;
  http.name = "metrics";
  absl::StatusOr<HttpServerPtr> server = HttpServer::Start(
      address, http, [registry](const HttpRequest& request) {
        return Respond(*registry, request);
      });
  if (!server.ok()) return server.status();
  return std::unique_ptr<MetricsHttpServer>(
      new MetricsHttpServer(*std::move(server)));
}

}  // namespace webhooks::server
