#include "server/grpc_status.h"

#include <string>

#include "absl/strings/str_format.h"
#include "common/strings.h"

namespace webhooks::server {

std::string PrintableMessage(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", u);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      PrintableMessage(AsStd(status.message())));
}

}  // namespace webhooks::server
