#include "server/http/connect_gateway.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/synchronization/notification.h"
#include "common/strings.h"
#include "grpcpp/generic/generic_stub.h"
#include "server/http/connect_error.h"
#include "server/http/connect_stream.h"
#include "server/http/json_codec.h"

namespace webhooks::server {
namespace {

namespace pb = google::protobuf;

constexpr std::string_view kUnaryTypes = "application/json, application/proto";
constexpr std::string_view kStreamTypes =
    "application/connect+json, application/connect+proto";

HttpResponse Error(const grpc::Status& status) {
  return HttpResponse::Json(ConnectHttpStatus(status.error_code()),
                            ConnectErrorJson(status));
}

HttpResponse Error(grpc::StatusCode code, std::string message) {
  return Error(grpc::Status(code, std::move(message)));
}

// The media type without parameters, lowercased.
std::string MediaType(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(AsAbsl(type)));
}

bool Printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c >= 0x20 && c < 0x7f; });
}

std::string Bytes(const grpc::ByteBuffer& buffer) {
  grpc::Slice slice;
  if (!buffer.DumpToSingleSlice(&slice).ok()) return "";
  return std::string(reinterpret_cast<const char*>(slice.begin()),
                     slice.size());
}

// The Connect-Timeout-Ms header as a deadline; false when malformed.
bool SetDeadline(const HttpRequest& request, grpc::ClientContext* context) {
  const std::string_view timeout = request.Header("connect-timeout-ms");
  if (timeout.empty()) return true;
  int64_t ms = 0;
  if (timeout.size() > 10 || !absl::SimpleAtoi(AsAbsl(timeout), &ms) ||
      ms < 0) {
    return false;
  }
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(ms));
  return true;
}

}  // namespace

ConnectGateway::ConnectGateway(std::shared_ptr<grpc::Channel> channel,
                               std::vector<std::string> services,
                               const Options& options)
    : channel_(std::move(channel)),
      services_(std::move(services)),
      options_(options) {}

const pb::MethodDescriptor* ConnectGateway::Find(std::string_view path) const {
  if (path.size() < 2 || path[0] != '/') return nullptr;
  const size_t slash = path.rfind('/');
  if (slash == 0) return nullptr;
  const std::string service(path.substr(1, slash - 1));
  if (std::find(services_.begin(), services_.end(), service) ==
      services_.end()) {
    return nullptr;
  }
  const pb::ServiceDescriptor* descriptor =
      pb::DescriptorPool::generated_pool()->FindServiceByName(service);
  if (descriptor == nullptr) return nullptr;
  return descriptor->FindMethodByName(std::string(path.substr(slash + 1)));
}

bool ConnectGateway::Serves(std::string_view path) const {
  return Find(path) != nullptr;
}

HttpResponse ConnectGateway::Handle(const HttpRequest& request) {
  const pb::MethodDescriptor* method = Find(request.path);
  if (method == nullptr || method->client_streaming()) {
    return Error(grpc::StatusCode::UNIMPLEMENTED,
                 StrCat("no method ", request.path));
  }
  if (request.method != "POST") {
    HttpResponse response = Error(
        grpc::StatusCode::UNIMPLEMENTED,
        StrCat("HTTP method ", request.method, " is not supported; use POST"));
    response.status = 405;
    response.headers.emplace_back("Allow", "POST");
    return response;
  }
  const std::string type = MediaType(request.Header("content-type"));
  const bool streaming = method->server_streaming();
  const std::string_view json_type =
      streaming ? "application/connect+json" : "application/json";
  const std::string_view proto_type =
      streaming ? "application/connect+proto" : "application/proto";
  if (type != json_type && type != proto_type) {
    HttpResponse response = Error(
        grpc::StatusCode::INVALID_ARGUMENT,
        StrCat("content type \"", type, "\" is not supported by ",
               request.path, "; send ",
               streaming ? kStreamTypes : kUnaryTypes));
    response.status = 415;
    response.headers.emplace_back("Accept-Post",
                                  streaming ? kStreamTypes : kUnaryTypes);
    return response;
  }
  if (request.body_too_large) {
    HttpResponse response =
        Error(grpc::StatusCode::RESOURCE_EXHAUSTED,
              StrCat("request body larger than ", options_.max_body_bytes,
                     " bytes"));
    response.status = 413;
    return response;
  }
  if (!Printable(request.Header("authorization"))) {
    return Error(grpc::StatusCode::UNAUTHENTICATED,
                 "malformed authorization header: not printable ASCII");
  }
  return streaming ? Stream(method, request, type == json_type)
                   : Unary(method, request, type == json_type);
}

HttpResponse ConnectGateway::Unary(const pb::MethodDescriptor* method,
                                   const HttpRequest& request, bool json) {
  std::string bytes = request.body;
  if (json) {
    absl::StatusOr<std::string> converted =
        JsonToBinary(method->input_type(), request.body);
    if (!converted.ok()) {
      return Error(grpc::StatusCode::INVALID_ARGUMENT,
                   std::string(converted.status().message()));
    }
    bytes = *std::move(converted);
  }
  grpc::ClientContext context;
  if (!SetDeadline(request, &context)) {
    return Error(grpc::StatusCode::INVALID_ARGUMENT,
                 "Connect-Timeout-Ms: expected a number of milliseconds");
  }
  const std::string_view authorization = request.Header("authorization");
  if (!authorization.empty()) {
    context.AddMetadata("authorization", std::string(authorization));
  }
  grpc::Slice slice(bytes);
  grpc::ByteBuffer in(&slice, 1);
  grpc::ByteBuffer out;
  grpc::Status status;
  absl::Notification done;
  grpc::GenericStub stub(channel_);
  stub.UnaryCall(&context, StrCat("/", method->service()->full_name(), "/",
                                  method->name()),
                 grpc::StubOptions(), &in, &out, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) return Error(status);
  std::string response_bytes = Bytes(out);
  if (!json) {
    HttpResponse response;
    response.headers.emplace_back("Content-Type", "application/proto");
    response.body = std::move(response_bytes);
    return response;
  }
  absl::StatusOr<std::string> printed =
      BinaryToJson(method->output_type(), response_bytes);
  if (!printed.ok()) {
    return Error(grpc::StatusCode::INTERNAL,
                 std::string(printed.status().message()));
  }
  return HttpResponse::Json(200, *std::move(printed));
}

HttpResponse ConnectGateway::Stream(const pb::MethodDescriptor* method,
                                    const HttpRequest& request, bool json) {
  HttpResponse response;
  response.headers.emplace_back("Content-Type",
                                json ? "application/connect+json"
                                     : "application/connect+proto");
  // The request: one enveloped message, uncompressed.
  const std::string& body = request.body;
  grpc::Status error;
  std::string_view payload;
  if (body.size() < 5) {
    error = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         "request: expected one enveloped message");
  } else {
    const auto* b = reinterpret_cast<const unsigned char*>(body.data());
    const uint32_t length = (uint32_t{b[1]} << 24) | (uint32_t{b[2]} << 16) |
                            (uint32_t{b[3]} << 8) | uint32_t{b[4]};
    if (b[0] != 0) {
      error = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                           "request: compressed or flagged envelopes are not "
                           "supported");
    } else if (length != body.size() - 5) {
      error = grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          StrCat("request: the envelope says ", length, " bytes but ",
                 body.size() - 5, " follow"));
    } else {
      payload = std::string_view(body).substr(5);
    }
  }
  std::string bytes(payload);
  if (error.ok() && json) {
    absl::StatusOr<std::string> converted =
        JsonToBinary(method->input_type(), payload);
    if (!converted.ok()) {
      error = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                           std::string(converted.status().message()));
    } else {
      bytes = *std::move(converted);
    }
  }
  if (error.ok() && open_streams_.fetch_add(1) >= options_.max_streams) {
    open_streams_.fetch_sub(1);
    error = grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        StrCat("too many streams open over HTTP (", options_.max_streams,
               "); close one or retry later"));
  }
  if (!error.ok()) {
    response.source = ConnectStreamSource::Failed(error, json);
    return response;
  }
  ConnectStreamCall call;
  call.channel = channel_;
  call.method =
      StrCat("/", method->service()->full_name(), "/", method->name());
  call.request = std::move(bytes);
  call.authorization = std::string(request.Header("authorization"));
  call.response_type = method->output_type();
  call.json = json;
  call.open_streams = &open_streams_;
  auto source = std::make_unique<ConnectStreamSource>(std::move(call));
  // The response's headers tell the client the stream is live: only once
  // the server has subscribed it.
  source->Start();
  response.source = std::move(source);
  return response;
}

}  // namespace webhooks::server
