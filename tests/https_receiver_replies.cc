// Requests and scripted replies of the HttpsReceiver.
#include <map>

#include "absl/strings/match.h"
#include "common/strings.h"
#include "tests/http_wire.h"
#include "tests/https_receiver.h"

namespace webhooks::e2e {

std::string ReceivedRequest::Header(std::string_view name) const {
  return test_support::HeaderValue(headers, name);
}

Reply Reply::Status(int status, std::string body) {
  Reply reply;
  reply.status = status;
  reply.body = std::move(body);
  return reply;
}

Reply Reply::Hang() {
  Reply reply;
  reply.action = Action::kHang;
  return reply;
}

Reply Reply::Reset() {
  Reply reply;
  reply.action = Action::kReset;
  return reply;
}

Reply Reply::Huge(size_t bytes) {
  Reply reply;
  reply.body.reserve(bytes);
  for (size_t i = 0; i < bytes; ++i) {
    reply.body.push_back(static_cast<char>('0' + i % 10));
  }
  return reply;
}

Reply Reply::Redirect(int status, std::string location) {
  Reply reply = Status(status);
  reply.headers.emplace_back("Location", std::move(location));
  return reply;
}

Reply& Reply::WithHeader(std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

Reply& Reply::After(absl::Duration wait) {
  delay = wait;
  return *this;
}

std::string ReasonPhrase(int status) {
  static const auto* phrases = new std::map<int, std::string>{
      {200, "OK"},
      {201, "Created"},
      {202, "Accepted"},
      {204, "No Content"},
      {301, "Moved Permanently"},
      {302, "Found"},
      {303, "See Other"},
      {307, "Temporary Redirect"},
      {308, "Permanent Redirect"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {410, "Gone"},
      {429, "Too Many Requests"},
      {500, "Internal Server Error"},
      {502, "Bad Gateway"},
      {503, "Service Unavailable"},
      {504, "Gateway Timeout"},
  };
  auto it = phrases->find(status);
  return it == phrases->end() ? "Status" : it->second;
}

}  // namespace webhooks::e2e
