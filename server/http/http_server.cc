// The only file that includes libmicrohttpd.
#include "server/http/http_server.h"

#include <microhttpd.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "absl/strings/numbers.h"
#include "common/strings.h"
#include "server/http/listen_socket.h"

namespace webhooks::server {
namespace {

// Bytes a streamed body is pulled in; a chunk larger is sent in pieces.
constexpr size_t kStreamBlockBytes = 32 << 10;
// Memory MHD keeps per connection beyond the request head (buffers, the
// response's head).
constexpr size_t kConnectionSlack = 16 << 10;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// One request's state, from its first byte to its completion.
struct Exchange {
  HttpRequest request;
  size_t head_bytes = 0;
};

// Feeds a body source to MHD's content reader; owns the source.
struct SourceReader {
  std::unique_ptr<HttpBodySource> source;
  int fd = -1;  // the connection's socket, to see whether the client left
  std::string pending;
  size_t offset = 0;
  bool ended = false;

  bool ClientGone() const {
    if (fd < 0) return false;
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    if (poll(&p, 1, 0) <= 0) return false;
    if ((p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) return true;
    char byte;
    return recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
  }

  ssize_t Read(char* buffer, size_t max) {
    while (offset == pending.size()) {
      if (ended) return MHD_CONTENT_READER_END_OF_STREAM;
      std::optional<std::string> next =
          source->Next([this] { return ClientGone(); });
      if (!next.has_value()) {
        ended = true;
        return MHD_CONTENT_READER_END_OF_STREAM;
      }
      pending = *std::move(next);
      offset = 0;
    }
    const size_t n = std::min(max, pending.size() - offset);
    std::memcpy(buffer, pending.data() + offset, n);
    offset += n;
    return static_cast<ssize_t>(n);
  }
};

ssize_t ReadSource(void* cls, uint64_t, char* buffer, size_t max) {
  return static_cast<SourceReader*>(cls)->Read(buffer, max);
}

void FreeSource(void* cls) { delete static_cast<SourceReader*>(cls); }

class MhdServer final : public HttpServer {
 public:
  MhdServer(const Options& options, HttpHandler handler, int port)
      : options_(options), handler_(std::move(handler)), port_(port) {}

  ~MhdServer() override {
    if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
  }

  int port() const override { return port_; }

  absl::Status Run(int listen_fd) {
    const unsigned int timeout = static_cast<unsigned int>(std::max<int64_t>(
        1, absl::ToInt64Seconds(absl::Ceil(options_.idle_timeout,
                                           absl::Seconds(1)))));
    const size_t memory =
        std::max<size_t>(32 << 10, options_.max_head_bytes + kConnectionSlack);
    daemon_ = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
            MHD_USE_POLL | MHD_USE_ITC,
        0, nullptr, nullptr, &MhdServer::Access, this,
        MHD_OPTION_LISTEN_SOCKET, listen_fd,
        MHD_OPTION_CONNECTION_LIMIT,
        static_cast<unsigned int>(options_.max_connections),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        static_cast<unsigned int>(options_.max_connections_per_ip),
        MHD_OPTION_CONNECTION_TIMEOUT, timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, memory,
        MHD_OPTION_NOTIFY_COMPLETED, &MhdServer::Completed, this,
        MHD_OPTION_EXTERNAL_LOGGER, &MhdServer::Quiet, this,
        MHD_OPTION_END);
    if (daemon_ == nullptr) {
      close(listen_fd);
      return absl::UnavailableError(
          StrCat(options_.name, " server: cannot start libmicrohttpd"));
    }
    return absl::OkStatus();
  }

 private:
  static void Quiet(void*, const char*, va_list) {}

  static MHD_Result CollectHeader(void* cls, MHD_ValueKind, const char* key,
                                  const char* value) {
    auto* exchange = static_cast<Exchange*>(cls);
    const std::string_view k = key == nullptr ? "" : key;
    const std::string_view v = value == nullptr ? "" : value;
    exchange->head_bytes += k.size() + v.size() + 4;
    exchange->request.headers.emplace_back(Lower(k), std::string(v));
    return MHD_YES;
  }

  static MHD_Result Access(void* cls, MHD_Connection* connection,
                           const char* url, const char* method,
                           const char* version, const char* upload_data,
                           size_t* upload_data_size, void** state) {
    auto* self = static_cast<MhdServer*>(cls);
    auto* exchange = static_cast<Exchange*>(*state);
    if (exchange == nullptr) {  // the head has arrived
      exchange = new Exchange();
      *state = exchange;
      exchange->request.method = method;
      exchange->request.path = url;
      exchange->head_bytes = std::strlen(method) + std::strlen(url) +
                             std::strlen(version) + 4;
      MHD_get_connection_values(connection, MHD_HEADER_KIND,
                                &MhdServer::CollectHeader, exchange);
      if (exchange->head_bytes > self->options_.max_head_bytes) {
        return self->Send(connection,
                          HttpResponse::Text(
                              431, "431 Request Header Fields Too Large\n"));
      }
      uint64_t length = 0;
      const std::string_view declared =
          exchange->request.Header("content-length");
      if (!declared.empty() &&
          absl::SimpleAtoi(AsAbsl(declared), &length) &&
          length > self->options_.max_body_bytes) {
        exchange->request.body_too_large = true;
        return self->Respond(connection, exchange);
      }
      return MHD_YES;
    }
    if (*upload_data_size > 0) {
      if (!exchange->request.body_too_large) {
        if (exchange->request.body.size() + *upload_data_size >
            self->options_.max_body_bytes) {
          exchange->request.body_too_large = true;
          exchange->request.body.clear();
          exchange->request.body.shrink_to_fit();
          *upload_data_size = 0;
          return self->Respond(connection, exchange);
        }
        exchange->request.body.append(upload_data, *upload_data_size);
      }
      *upload_data_size = 0;
      return MHD_YES;
    }
    return self->Respond(connection, exchange);
  }

  MHD_Result Respond(MHD_Connection* connection, Exchange* exchange) {
    HttpResponse response = handler_(exchange->request);
    return Send(connection, std::move(response));
  }

  MHD_Result Send(MHD_Connection* connection, HttpResponse response) {
    MHD_Response* mhd = nullptr;
    if (response.source != nullptr) {
      auto* reader = new SourceReader();
      reader->source = std::move(response.source);
      const MHD_ConnectionInfo* info =
          MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
      if (info != nullptr) reader->fd = info->connect_fd;
      mhd = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN,
                                              kStreamBlockBytes, &ReadSource,
                                              reader, &FreeSource);
      if (mhd == nullptr) delete reader;
    } else {
      mhd = MHD_create_response_from_buffer(response.body.size(),
                                            response.body.data(),
                                            MHD_RESPMEM_MUST_COPY);
    }
    if (mhd == nullptr) return MHD_NO;  // closes the connection
    for (const auto& [name, value] : response.headers) {
      MHD_add_response_header(mhd, name.c_str(), value.c_str());
    }
    if (options_.close_after_response) {
      MHD_add_response_header(mhd, MHD_HTTP_HEADER_CONNECTION, "close");
    }
    const MHD_Result queued = MHD_queue_response(
        connection, static_cast<unsigned int>(response.status), mhd);
    MHD_destroy_response(mhd);
    return queued;
  }

  static void Completed(void*, MHD_Connection*, void** state,
                        MHD_RequestTerminationCode) {
    delete static_cast<Exchange*>(*state);
    *state = nullptr;
  }

  const Options options_;
  const HttpHandler handler_;
  const int port_;
  MHD_Daemon* daemon_ = nullptr;
};

}  // namespace

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

HttpResponse HttpResponse::Text(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  response.body = std::move(body);
  return response;
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "application/json");
  response.body = std::move(body);
  return response;
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    std::string_view address, const Options& options, HttpHandler handler) {
  absl::StatusOr<ListenSocket> socket =
      BindListenSocket(options.name, address);
  if (!socket.ok()) return socket.status();
  auto server =
      std::make_unique<MhdServer>(options, std::move(handler), socket->port);
  if (absl::Status s = server->Run(socket->fd); !s.ok()) return s;
  return server;
}

}  // namespace webhooks::server
