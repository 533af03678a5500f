// A raw-socket HTTP client for the HTTP API's tests (as server/ has for the
// metrics endpoint's, which tests/ cannot include): sends bytes,
// reads until the server closes, splits the response.
//
//   HttpReply reply = RawHttp(port, "GET /metrics HTTP/1.1\r\n\r\n");
//   EXPECT_EQ(reply.status_line, "HTTP/1.1 200 OK");
#ifndef WEBHOOKS_TESTS_RAW_HTTP_CLIENT_H_
#define WEBHOOKS_TESTS_RAW_HTTP_CLIENT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>
#include <string_view>

namespace webhooks::e2e::raw_http {

struct HttpReply {
  bool ok = false;          // connected, sent, and got a response head
  std::string raw;          // everything read
  std::string status_line;  // "HTTP/1.1 200 OK"
  std::string head;         // headers, each line ending in \r\n
  std::string body;

  // The value of a header (case-sensitive name), or "".
  std::string Header(std::string_view name) const {
    const std::string key = "\r\n" + std::string(name) + ": ";
    const std::string search = "\r\n" + head;
    const size_t at = search.find(key);
    if (at == std::string::npos) return "";
    const size_t start = at + key.size();
    return search.substr(start, search.find("\r\n", start) - start);
  }
};

// Connects to 127.0.0.1:port; -1 on failure. Reads time out after 10 s.
inline int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends `request` as is and reads the response until the server closes.
inline HttpReply RawHttp(int port, std::string_view request) {
  HttpReply reply;
  const int fd = ConnectLoopback(port);
  if (fd < 0) return reply;
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n =
        send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  char buffer[4096];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) {
    reply.raw.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  const size_t line_end = reply.raw.find("\r\n");
  const size_t head_end = reply.raw.find("\r\n\r\n");
  if (line_end == std::string::npos || head_end == std::string::npos) {
    return reply;
  }
  reply.ok = true;
  reply.status_line = reply.raw.substr(0, line_end);
  reply.head = reply.raw.substr(line_end + 2, head_end + 2 - (line_end + 2));
  reply.body = reply.raw.substr(head_end + 4);
  return reply;
}

inline HttpReply HttpGet(int port, std::string_view path) {
  return RawHttp(port, "GET " + std::string(path) +
                           " HTTP/1.1\r\nHost: localhost\r\n\r\n");
}

}  // namespace webhooks::e2e::raw_http

#endif  // WEBHOOKS_TESTS_RAW_HTTP_CLIENT_H_
