#include "server/http/console_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "common/strings.h"
#include "core/errors.h"

namespace webhooks::server {
namespace {

constexpr size_t kMaxTotalBytes = 16 << 20;
constexpr char kField[] = "http.console_dir";

std::string ContentType(std::string_view path) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& [suffix, type] : kTypes) {
    if (path.ends_with(suffix)) return std::string(type);
  }
  return "application/octet-stream";
}

void AddSecurityHeaders(HttpResponse& response) {
  response.headers.emplace_back("Content-Security-Policy",
                                ConsoleFiles::kContentSecurityPolicy);
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("X-Frame-Options", "DENY");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
}

HttpResponse NotFound(std::string text) {
  HttpResponse response = HttpResponse::Text(404, std::move(text));
  response.headers.emplace_back("Cache-Control", "no-cache");
  AddSecurityHeaders(response);
  return response;
}

}  // namespace

absl::StatusOr<ConsoleFiles> ConsoleFiles::Load(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (!fs::is_regular_file(fs::path(dir) / "index.html", error)) {
    return core::error::InvalidField(
        kField, StrCat("\"", dir,
                             "\" has no index.html (build the console: "
                             "cmake --build build --target console)"));
  }
  ConsoleFiles console;
  size_t total = 0;
  fs::recursive_directory_iterator it(dir, error);
  for (; !error && it != fs::recursive_directory_iterator();
       it.increment(error)) {
    if (!it->is_regular_file(error)) continue;
    const std::string relative =
        fs::relative(it->path(), dir, error).generic_string();
    if (error) break;
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    if (!in) {
      return core::error::InvalidField(
          kField, StrCat("cannot read \"", it->path().string(), "\""));
    }
    total += body.str().size();
    if (total > kMaxTotalBytes) {
      return core::error::InvalidField(
          kField, StrCat("\"", dir, "\" holds more than ",
                               kMaxTotalBytes >> 20, " MiB"));
    }
    console.files_["/" + relative] = File{ContentType(relative), body.str()};
  }
  if (error) {
    return core::error::InvalidField(
        kField, StrCat("cannot list \"", dir, "\": ", error.message()));
  }
  return console;
}

ConsoleFiles ConsoleFiles::Missing() { return ConsoleFiles(); }

HttpResponse ConsoleFiles::Handle(const HttpRequest& request) const {
  if (files_.empty()) {
    return NotFound(
        "404 Not Found: the web console is not installed here (build it "
        "with `cmake --build build --target console`, or set "
        "http.console_dir / --console_dir)\n");
  }
  std::string_view path = request.path;
  if (path == "/") path = "/index.html";
  auto it = files_.find(path);
  if (it == files_.end()) {
    const std::string_view last = path.substr(path.rfind('/') + 1);
    if (last.find('.') != std::string_view::npos ||
        path.starts_with("/assets/")) {
      return NotFound(StrCat("404 Not Found: no console file \"",
                                   request.path, "\"\n"));
    }
    it = files_.find("/index.html");  // a deep link into the app
  }
  HttpResponse response;
  response.status = 200;
  response.headers.emplace_back("Content-Type", it->second.content_type);
  response.headers.emplace_back(
      "Cache-Control", it->first.starts_with("/assets/")
                           ? "public, max-age=31536000, immutable"
                           : "no-cache");
  AddSecurityHeaders(response);
  response.body = it->second.body;
  return response;
}

}  // namespace webhooks::server
