// The built web console (console/ in the source tree): the files of one
// directory, read once at start, served to GET and HEAD.
//
// `/` is index.html; a path that names no file and has no extension in its
// last segment is index.html too (a deep link into the single-page app);
// other unknown paths get 404. Files under assets/ have content hashes in
// their names and are cached for a year; the rest must be revalidated.
// Every answer carries a strict Content-Security-Policy (only this origin's
// scripts, styles and API; no inline code, no framing) and nosniff.
//
//   ASSIGN_OR_RETURN(ConsoleFiles files, ConsoleFiles::Load(dir));
//   HttpResponse response = files.Handle(request);
#ifndef WEBHOOKS_SERVER_HTTP_CONSOLE_FILES_H_
#define WEBHOOKS_SERVER_HTTP_CONSOLE_FILES_H_

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/http/http_server.h"

namespace webhooks::server {

class ConsoleFiles {
 public:
  // The Content-Security-Policy of every console answer.
  static constexpr char kContentSecurityPolicy[] =
      "default-src 'none'; script-src 'self'; style-src 'self'; "
      "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
      "form-action 'self'; frame-ancestors 'none'";

  // Reads every regular file under `dir` (at most 16 MiB in all). An
  // unreadable directory or one without index.html is INVALID_ARGUMENT
  // naming http.console_dir.
  static absl::StatusOr<ConsoleFiles> Load(const std::string& dir);

  // No console: every path answers 404 saying how to get one.
  static ConsoleFiles Missing();

  // The answer to a GET or HEAD of `request.path`.
  HttpResponse Handle(const HttpRequest& request) const;

 private:
  struct File {
    std::string content_type;
    std::string body;
  };
  std::map<std::string, File, std::less<>> files_;  // by path ("/app.js")
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HTTP_CONSOLE_FILES_H_
