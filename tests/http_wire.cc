#include "tests/http_wire.h"

#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace webhooks::test_support {
namespace {

absl::string_view Absl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// Parses the head ("POST /p HTTP/1.1\r\nName: v\r\n...", without the blank
// line) into `request`; returns the Content-Length, or nullopt when the head
// is malformed.
std::optional<size_t> ParseHead(std::string_view head, WireRequest& request) {
  std::vector<absl::string_view> lines = absl::StrSplit(Absl(head), "\r\n");
  std::vector<absl::string_view> parts = absl::StrSplit(lines[0], ' ');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty()) {
    return std::nullopt;
  }
  request.method = std::string(parts[0]);
  request.target = std::string(parts[1]);
  size_t content_length = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) continue;
    std::string name(absl::StripAsciiWhitespace(lines[i].substr(0, colon)));
    std::string value(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
    if (absl::EqualsIgnoreCase(name, "content-length") &&
        !absl::SimpleAtoi(value, &content_length)) {
      return std::nullopt;
    }
    if (absl::EqualsIgnoreCase(name, "connection") &&
        absl::EqualsIgnoreCase(value, "close")) {
      request.close = true;
    }
    request.headers.emplace_back(std::move(name), std::move(value));
  }
  return content_length;
}

}  // namespace

std::string HeaderValue(const WireHeaders& headers, std::string_view name) {
  for (const auto& [header, value] : headers) {
    if (absl::EqualsIgnoreCase(header, Absl(name))) return value;
  }
  return "";
}

HttpWire::~HttpWire() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

bool HttpWire::Fill() {
  char chunk[16 << 10];
  const int n = ssl_ != nullptr
                    ? SSL_read(ssl_, chunk, sizeof(chunk))
                    : static_cast<int>(read(fd_, chunk, sizeof(chunk)));
  if (n <= 0) return false;
  buffer_.append(chunk, static_cast<size_t>(n));
  return true;
}

std::optional<WireRequest> HttpWire::ReadRequest(WireLimits limits) {
  size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (buffer_.size() > limits.max_head_bytes || !Fill()) return std::nullopt;
  }
  WireRequest request;
  const std::optional<size_t> length =
      ParseHead(std::string_view(buffer_).substr(0, head_end), request);
  if (!length.has_value() || *length > limits.max_body_bytes) {
    return std::nullopt;
  }
  buffer_.erase(0, head_end + 4);
  while (buffer_.size() < *length) {
    if (!Fill()) return std::nullopt;
  }
  request.body = buffer_.substr(0, *length);
  buffer_.erase(0, *length);
  return request;
}

bool HttpWire::WriteAll(std::string_view data) {
  while (!data.empty()) {
    // SSL_write takes an int; 1 MiB at a time.
    const int chunk = static_cast<int>(std::min<size_t>(data.size(), 1 << 20));
    const int n = ssl_ != nullptr
                      ? SSL_write(ssl_, data.data(), chunk)
                      : static_cast<int>(send(fd_, data.data(),
                                              static_cast<size_t>(chunk),
                                              MSG_NOSIGNAL));
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace webhooks::test_support
