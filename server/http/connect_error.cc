#include "server/http/connect_error.h"

#include <memory>

#include "absl/strings/escaping.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/json_util.h"
#include "common/strings.h"

namespace webhooks::server {
namespace {

namespace pb = google::protobuf;

// `s` as a JSON string literal.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 15];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

// One google.protobuf.Any (type_url = 1, value = 2) as a Connect detail.
std::string DetailJson(const std::string& any_bytes) {
  pb::UnknownFieldSet any;
  if (!any.ParseFromString(any_bytes)) return "";
  std::string type_url;
  std::string value;
  for (int i = 0; i < any.field_count(); ++i) {
    const pb::UnknownField& f = any.field(i);
    if (f.type() != pb::UnknownField::TYPE_LENGTH_DELIMITED) continue;
    if (f.number() == 1) type_url = f.length_delimited();
    if (f.number() == 2) value = f.length_delimited();
  }
  const std::string type = type_url.substr(type_url.rfind('/') + 1);
  std::string encoded = absl::Base64Escape(value);
  while (!encoded.empty() && encoded.back() == '=') encoded.pop_back();
  std::string out = StrCat("{\"type\":", Quote(type), ",\"value\":",
                           Quote(encoded));
  const pb::Descriptor* descriptor =
      pb::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
  if (descriptor != nullptr) {
    pb::DynamicMessageFactory factory;
    std::unique_ptr<pb::Message> message(
        factory.GetPrototype(descriptor)->New());
    std::string debug;
    if (message->ParseFromString(value) &&
        pb::util::MessageToJsonString(*message, &debug).ok()) {
      out += StrCat(",\"debug\":", debug);
    }
  }
  out += "}";
  return out;
}

}  // namespace

std::string_view ConnectCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED: return "canceled";
    case grpc::StatusCode::INVALID_ARGUMENT: return "invalid_argument";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "deadline_exceeded";
    case grpc::StatusCode::NOT_FOUND: return "not_found";
    case grpc::StatusCode::ALREADY_EXISTS: return "already_exists";
    case grpc::StatusCode::PERMISSION_DENIED: return "permission_denied";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "resource_exhausted";
    case grpc::StatusCode::FAILED_PRECONDITION: return "failed_precondition";
    case grpc::StatusCode::ABORTED: return "aborted";
    case grpc::StatusCode::OUT_OF_RANGE: return "out_of_range";
    case grpc::StatusCode::UNIMPLEMENTED: return "unimplemented";
    case grpc::StatusCode::INTERNAL: return "internal";
    case grpc::StatusCode::UNAVAILABLE: return "unavailable";
    case grpc::StatusCode::DATA_LOSS: return "data_loss";
    case grpc::StatusCode::UNAUTHENTICATED: return "unauthenticated";
    default: return "unknown";
  }
}

int ConnectHttpStatus(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED: return 499;
    case grpc::StatusCode::INVALID_ARGUMENT: return 400;
    case grpc::StatusCode::DEADLINE_EXCEEDED: return 504;
    case grpc::StatusCode::NOT_FOUND: return 404;
    case grpc::StatusCode::ALREADY_EXISTS: return 409;
    case grpc::StatusCode::PERMISSION_DENIED: return 403;
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return 429;
    case grpc::StatusCode::FAILED_PRECONDITION: return 400;
    case grpc::StatusCode::ABORTED: return 409;
    case grpc::StatusCode::OUT_OF_RANGE: return 400;
    case grpc::StatusCode::UNIMPLEMENTED: return 404;
    case grpc::StatusCode::UNAVAILABLE: return 503;
    case grpc::StatusCode::UNAUTHENTICATED: return 401;
    default: return 500;  // unknown, internal, data_loss
  }
}

std::string ConnectErrorJson(const grpc::Status& status) {
  std::string out = StrCat("{\"code\":", Quote(ConnectCodeName(status.error_code())));
  if (!status.error_message().empty()) {
    out += StrCat(",\"message\":", Quote(status.error_message()));
  }
  // google.rpc.Status: code = 1, message = 2, repeated Any details = 3.
  pb::UnknownFieldSet rpc_status;
  std::string details;
  if (!status.error_details().empty() &&
      rpc_status.ParseFromString(status.error_details())) {
    for (int i = 0; i < rpc_status.field_count(); ++i) {
      const pb::UnknownField& f = rpc_status.field(i);
      if (f.number() != 3 ||
          f.type() != pb::UnknownField::TYPE_LENGTH_DELIMITED) {
        continue;
      }
      std::string detail = DetailJson(f.length_delimited());
      if (detail.empty()) continue;
      if (!details.empty()) details += ",";
      details += detail;
    }
  }
  if (!details.empty()) out += StrCat(",\"details\":[", details, "]");
  out += "}";
  return out;
}

}  // namespace webhooks::server
