// webhookd_openapi: writes the OpenAPI description of the JSON API (the
// same document the server serves at /openapi.json) to the file named by
// its one argument. The build runs it to produce openapi.json.
//
//   webhookd_openapi build/server/openapi.json
#include <cstdio>
#include <fstream>
#include <string>

#include "server/http/http_api.h"
#include "server/http/openapi.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT.json\n", argv[0]);
    return 2;
  }
  absl::StatusOr<std::string> json =
      webhooks::server::OpenApiJson(webhooks::server::HttpApiServices());
  if (!json.ok()) {
    std::fprintf(stderr, "%s\n", json.status().ToString().c_str());
    return 1;
  }
  std::ofstream out(argv[1], std::ios::trunc);
  out << *json << "\n";
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", argv[1]);
    return 1;
  }
  return 0;
}
