#include "server/parse_error_interceptor.h"

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/strings.h"
#include "server/grpc_status.h"

namespace webhooks::server {
namespace {

using grpc::experimental::InterceptionHookPoints;

// "/webhooks.v1.SubscriptionService/GetSubscription" -> "GetSubscription".
std::string_view MethodName(const char* method) {
  std::string_view name = method == nullptr ? "" : method;
  const size_t slash = name.rfind('/');
  return slash == std::string_view::npos ? name : name.substr(slash + 1);
}

class ParseErrorInterceptor final : public grpc::experimental::Interceptor {
 public:
  ParseErrorInterceptor(const Authenticator* authenticator,
                        grpc::experimental::ServerRpcInfo* info)
      : authenticator_(authenticator), info_(info) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      auto* metadata = methods->GetRecvInitialMetadata();
      if (metadata != nullptr) {
        auto range = metadata->equal_range("authorization");
        for (auto it = range.first; it != range.second; ++it) {
          authorization_.emplace_back(it->second.data(), it->second.size());
        }
      }
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      unparsed_ = true;
    }
    if (unparsed_ && methods->QueryInterceptionHookPoint(
                         InterceptionHookPoints::PRE_SEND_STATUS) &&
        methods->GetSendStatus().error_code() ==
            grpc::StatusCode::UNIMPLEMENTED) {
      methods->ModifySendStatus(ParseStatus());
    }
    methods->Proceed();
  }

 private:
  grpc::Status ParseStatus() const {
    std::multimap<std::string_view, std::string_view> metadata;
    for (const std::string& value : authorization_) {
      metadata.emplace("authorization", value);
    }
    absl::StatusOr<Caller> caller = authenticator_->Authenticate(metadata);
    if (!caller.ok()) return ToGrpcStatus(caller.status());
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        StrCat("request: could not be parsed as the request message of ",
               MethodName(info_->method()),
               " (malformed protobuf bytes, or invalid UTF-8 in a string "
               "field)"));
  }

  const Authenticator* const authenticator_;
  grpc::experimental::ServerRpcInfo* const info_;
  std::vector<std::string> authorization_;
  bool unparsed_ = false;
};

}  // namespace

grpc::experimental::Interceptor*
ParseErrorInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new ParseErrorInterceptor(authenticator_, info);
}

}  // namespace webhooks::server
