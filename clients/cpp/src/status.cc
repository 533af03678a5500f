#include "webhooks/client/status.h"

#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "google/protobuf/unknown_field_set.h"

namespace webhooks::client {
namespace {

using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

bool IsIdentStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The length of the field path at the start of `s` (0 when none): an
// identifier, then `.identifier`, `[digits]` or `["quoted"]` parts.
size_t PathLength(std::string_view s) {
  if (s.empty() || !IsIdentStart(s[0])) return 0;
  size_t end = 1;
  while (end < s.size() && IsIdentChar(s[end])) ++end;
  for (;;) {
    size_t i = end;
    if (i + 1 < s.size() && s[i] == '.' && IsIdentStart(s[i + 1])) {
      i += 2;
      while (i < s.size() && IsIdentChar(s[i])) ++i;
    } else if (i + 1 < s.size() && s[i] == '[' && IsDigit(s[i + 1])) {
      ++i;
      while (i < s.size() && IsDigit(s[i])) ++i;
      if (i >= s.size() || s[i] != ']') return end;
      ++i;
    } else if (i + 1 < s.size() && s[i] == '[' && s[i + 1] == '"') {
      i += 2;
      while (i < s.size() && s[i] != '"') i += s[i] == '\\' ? 2 : 1;
      if (i + 1 >= s.size() || s[i + 1] != ']') return end;
      i += 2;
    } else {
      return end;
    }
    end = i;
  }
}

// The string fields numbered `number` of a serialized message.
std::vector<std::string> StringFields(const std::string& bytes, int number) {
  std::vector<std::string> values;
  UnknownFieldSet fields;
  if (!fields.ParseFromString(bytes)) return values;
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& field = fields.field(i);
    if (field.number() == number &&
        field.type() == UnknownField::TYPE_LENGTH_DELIMITED) {
      values.push_back(field.length_delimited());
    }
  }
  return values;
}

std::string FirstOrEmpty(const std::vector<std::string>& values) {
  return values.empty() ? std::string() : values.front();
}

// google.rpc.Status.details (3) holding google.protobuf.Any (type_url 1,
// value 2) of google.rpc.BadRequest: field_violations (1) of field (1) and
// description (2). Read without the google.rpc protos, which are not
// installed with gRPC.
std::vector<FieldViolation> BadRequestViolations(const std::string& details) {
  std::vector<FieldViolation> violations;
  for (const std::string& any : StringFields(details, 3)) {
    const std::string type_url = FirstOrEmpty(StringFields(any, 1));
    constexpr std::string_view kBadRequest = "/google.rpc.BadRequest";
    if (type_url.size() < kBadRequest.size() ||
        type_url.compare(type_url.size() - kBadRequest.size(),
                         kBadRequest.size(), kBadRequest) != 0) {
      continue;
    }
    for (const std::string& bad_request : StringFields(any, 2)) {
      for (const std::string& v : StringFields(bad_request, 1)) {
        violations.push_back({FirstOrEmpty(StringFields(v, 1)),
                              FirstOrEmpty(StringFields(v, 2))});
      }
    }
  }
  return violations;
}

}  // namespace

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status result(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
  if (!status.error_details().empty()) {
    result.SetPayload(kGrpcStatusDetailsUrl,
                      absl::Cord(status.error_details()));
  }
  return result;
}

std::string FieldPath(std::string_view message) {
  const size_t length = PathLength(message);
  if (length == 0) return "";
  std::string_view rest = message.substr(length);
  if (rest.substr(0, 2) == ": " || rest == " is required") {
    return std::string(message.substr(0, length));
  }
  return "";
}

FieldError GetFieldError(const absl::Status& status) {
  FieldError error;
  const std::string_view message(status.message().data(),
                                 status.message().size());
  error.field = FieldPath(message);
  if (error.field.empty()) {
    error.message = std::string(message);
  } else if (message.substr(error.field.size(), 2) == ": ") {
    error.message = std::string(message.substr(error.field.size() + 2));
  } else {
    error.message = std::string(message.substr(error.field.size() + 1));
  }
  if (absl::optional<absl::Cord> details =
          status.GetPayload(kGrpcStatusDetailsUrl)) {
    error.violations = BadRequestViolations(std::string(*details));
  }
  if (error.field.empty() && !error.violations.empty()) {
    error.field = error.violations.front().field;
    error.message = error.violations.front().description;
  }
  return error;
}

}  // namespace webhooks::client
