// gRPC 1.51 answers a request whose bytes do not parse as the method's
// message (a truncated varint, invalid UTF-8 in a string field) with
// UNIMPLEMENTED and an empty message, before any handler or authentication
// runs. This server interceptor notes the failed parse and rewrites that
// status: UNAUTHENTICATED when the call's token is not accepted (so an
// unauthenticated caller learns nothing more), else INVALID_ARGUMENT
// "request: could not be parsed as <message>".
//
//   std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
//   f.push_back(std::make_unique<ParseErrorInterceptorFactory>(&authenticator));
//   builder.experimental().SetInterceptorCreators(std::move(f));
#ifndef WEBHOOKS_SERVER_PARSE_ERROR_INTERCEPTOR_H_
#define WEBHOOKS_SERVER_PARSE_ERROR_INTERCEPTOR_H_

#include "grpcpp/support/server_interceptor.h"
#include "server/auth.h"

namespace webhooks::server {

class ParseErrorInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `authenticator` must outlive the server.
  explicit ParseErrorInterceptorFactory(const Authenticator* authenticator)
      : authenticator_(authenticator) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  const Authenticator* const authenticator_;
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_PARSE_ERROR_INTERCEPTOR_H_
