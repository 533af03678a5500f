#include "server/config_loader.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "core/errors.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"

namespace webhooks::server {
namespace {

// Keeps the first error the text-format parser reports, one-based.
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (has_error_) return;
    has_error_ = true;
    line_ = line + 1;
    column_ = column + 1;
    message_ = message;
  }

  // INVALID_ARGUMENT "<source>:LINE:COL: message".
  absl::Status ToStatus(std::string_view source) const {
    if (!has_error_) {
      return absl::InvalidArgumentError(
          StrCat(source, ": not a valid webhooks.v1.ServerConfig"));
    }
    return absl::InvalidArgumentError(
        StrCat(source, ":", line_, ":", column_, ": ", message_));
  }

 private:
  bool has_error_ = false;
  int line_ = 0;
  int column_ = 0;
  std::string message_;
};

// Parses `text`, naming `source` (a path, or "config") in errors.
absl::StatusOr<v1::ServerConfig> ParseNamed(std::string_view text,
                                            std::string_view source) {
  if (text.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return absl::InvalidArgumentError(StrCat(source, ": larger than 2 GiB"));
  }
  google::protobuf::io::ArrayInputStream input(text.data(),
                                               static_cast<int>(text.size()));
  FirstErrorCollector errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  v1::ServerConfig config;
  if (!parser.Parse(&input, &config)) return errors.ToStatus(source);
  return config;
}

struct HostPort {
  std::string_view host;  // without brackets
  bool bracketed = false;
  int port = 0;
};

// `host:port` or `[v6]:port`, port 0..65535 in decimal. nullopt otherwise.
std::optional<HostPort> SplitHostPort(std::string_view address) {
  HostPort out;
  std::string_view port;
  if (address.starts_with('[')) {
    const size_t close = address.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = address.substr(1, close - 1);
    out.bracketed = true;
    std::string_view rest = address.substr(close + 1);
    if (!rest.starts_with(':')) return std::nullopt;
    port = rest.substr(1);
  } else {
    const size_t colon = address.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    out.host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  if (out.host.empty()) return std::nullopt;
  for (char c : out.host) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '[' || c == ']' || c == '/') {
      return std::nullopt;
    }
    if (c == ':' && !out.bracketed) return std::nullopt;
  }
  if (port.empty() || port.size() > 5) return std::nullopt;
  for (char c : port) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
  }
  if (!absl::SimpleAtoi(AsAbsl(port), &out.port) || out.port > 65535) {
    return std::nullopt;
  }
  return out;
}

// Every numeric field of webhooks.v1.Limits, found by reflection so a field
// added later is checked too.
absl::Status CheckLimitsNonNegative(const v1::Limits& limits) {
  const google::protobuf::Descriptor* descriptor = limits.GetDescriptor();
  const google::protobuf::Reflection* reflection = limits.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = descriptor->field(i);
    if (field->is_repeated()) continue;
    int64_t value = 0;
    switch (field->cpp_type()) {
      case google::protobuf::FieldDescriptor::CPPTYPE_INT32:
        value = reflection->GetInt32(limits, field);
        break;
      case google::protobuf::FieldDescriptor::CPPTYPE_INT64:
        value = reflection->GetInt64(limits, field);
        break;
      default:
        continue;
    }
    if (value < 0) {
      return core::error::InvalidField(StrCat("limits.", field->name()),
                                       StrCat("must not be negative (got ",
                                              value, "); 0 keeps the default"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckTls(const v1::TlsConfig& tls) {
  const bool cert = !tls.cert_file().empty();
  const bool key = !tls.key_file().empty();
  if (cert && !key) {
    return core::error::InvalidField("tls.key_file",
                                     "is required when tls.cert_file is set");
  }
  if (key && !cert) {
    return core::error::InvalidField("tls.cert_file",
                                     "is required when tls.key_file is set");
  }
  if (!tls.client_ca_file().empty() && !cert) {
    return core::error::InvalidField(
        "tls.client_ca_file",
        "requires tls.cert_file and tls.key_file (mTLS needs a TLS server)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::ServerConfig> LoadConfigFile(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(
      std::fopen(path.c_str(), "rb"), &std::fclose);
  if (file == nullptr) {
    const int error = errno;
    if (error == ENOENT || error == ENOTDIR) {
      return absl::NotFoundError(
          StrCat("config file \"", path, "\" does not exist"));
    }
    return absl::ErrnoToStatus(
        error, StrCat("cannot open config file \"", path, "\""));
  }
  std::string text;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) {
    text.append(buffer, n);
  }
  if (std::ferror(file.get())) {
    return absl::ErrnoToStatus(
        errno, StrCat("cannot read config file \"", path, "\""));
  }
  return ParseNamed(text, path);
}

absl::StatusOr<v1::ServerConfig> ParseConfig(std::string_view text) {
  return ParseNamed(text, "config");
}

absl::Status FinalizeConfig(v1::ServerConfig& config) {
  if (config.listen_address().empty()) {
    config.set_listen_address(std::string(kDefaultListenAddress));
  }
  if (config.data_dir().empty()) {
    config.set_data_dir(std::string(kDefaultDataDir));
  }
  if (!SplitHostPort(config.listen_address()).has_value()) {
    return core::error::InvalidField(
        "listen_address",
        StrCat("\"", config.listen_address(),
               "\" is not host:port (host may be [ipv6], port "
               "0..65535)"));
  }
  RETURN_IF_ERROR(CheckLimitsNonNegative(config.limits()));
  RETURN_IF_ERROR(CheckTls(config.tls()));
  if (config.tokens().empty() && !IsLoopbackAddress(config.listen_address())) {
    return absl::FailedPreconditionError(StrCat(
        "listen_address \"", config.listen_address(),
        "\" is not a loopback address; without tokens the server runs in "
        "open mode (every caller is an admin) and only listens on loopback "
        "(127.0.0.0/8, [::1] or localhost). Configure tokens or listen on "
        "loopback"));
  }
  return absl::OkStatus();
}

core::Limits LimitsFromConfig(const v1::ServerConfig& config) {
  core::Limits limits;
  const v1::Limits& in = config.limits();
  auto set = [](int& out, int32_t value) {
    if (value > 0) out = value;
  };
  set(limits.max_site_length, in.max_site_length());
  set(limits.max_site_depth, in.max_site_depth());
  set(limits.max_type_length, in.max_type_length());
  set(limits.max_url_length, in.max_url_length());
  set(limits.max_principal_length, in.max_principal_length());
  set(limits.max_groups, in.max_groups());
  set(limits.max_page_size, in.max_page_size());
  set(limits.max_subscriptions, in.max_subscriptions());
  set(limits.max_dialects, in.max_dialects());
  set(limits.max_subscriptions_per_owner, in.max_subscriptions_per_owner());
  set(limits.max_delivery_connect_timeout_ms,
      in.max_delivery_connect_timeout_ms());
  set(limits.max_delivery_timeout_ms, in.max_delivery_timeout_ms());
  set(limits.max_retry_schedule_entries, in.max_retry_schedule_entries());
  set(limits.max_retry_delay_seconds, in.max_retry_delay_seconds());
  // A smaller max_page_size also caps the page size used when none is asked.
  if (limits.default_page_size > limits.max_page_size) {
    limits.default_page_size = limits.max_page_size;
  }
  return limits;
}

bool IsLoopbackAddress(std::string_view address) {
  const std::optional<HostPort> split = SplitHostPort(address);
  if (!split.has_value()) return false;
  const std::string host(split->host);
  if (split->bracketed) {
    in6_addr v6;
    if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return false;
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  if (absl::EqualsIgnoreCase(host, "localhost")) return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) != 1) return false;
  return (ntohl(v4.s_addr) >> 24) == 127;
}

}  // namespace webhooks::server
