#include "webhooks/client/client.h"

#include <chrono>
#include <utility>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/client_interceptor.h"

namespace webhooks::client {
namespace {

namespace exp = ::grpc::experimental;

// Adds `authorization: Bearer <token>` to every call on the channel, so that
// calls made directly on the stubs carry it too (call credentials would not
// be sent over a plaintext channel).
class BearerTokenInterceptor final : public exp::Interceptor {
 public:
  explicit BearerTokenInterceptor(const std::string* value) : value_(value) {}

  void Intercept(exp::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            exp::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", *value_);
    }
    methods->Proceed();
  }

 private:
  const std::string* value_;  // owned by the factory
};

class BearerTokenFactory final : public exp::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenFactory(std::string token)
      : value_("Bearer " + std::move(token)) {}

  exp::Interceptor* CreateClientInterceptor(exp::ClientRpcInfo*) override {
    return new BearerTokenInterceptor(&value_);
  }

 private:
  const std::string value_;
};

absl::Status CheckOptions(const ClientOptions& options) {
  if (options.address.empty()) {
    return absl::InvalidArgumentError("ClientOptions.address is empty");
  }
  const bool tls_options =
      !options.root_ca_pem.empty() || !options.client_cert_pem.empty() ||
      !options.client_key_pem.empty() || !options.server_name_override.empty();
  if (options.insecure_plaintext && tls_options) {
    return absl::InvalidArgumentError(
        "ClientOptions.insecure_plaintext cannot be combined with TLS options");
  }
  if (options.client_cert_pem.empty() != options.client_key_pem.empty()) {
    return absl::InvalidArgumentError(
        "ClientOptions.client_cert_pem and client_key_pem go together");
  }
  for (char c : options.bearer_token) {
    // A metadata value is printable ASCII; the server splits on spaces.
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(
          "ClientOptions.bearer_token has a space or a non-printable byte");
    }
  }
  if (options.call_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "ClientOptions.call_timeout must be positive");
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::ChannelCredentials> Credentials(
    const ClientOptions& options) {
  if (options.insecure_plaintext) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = options.root_ca_pem;
  ssl.pem_cert_chain = options.client_cert_pem;
  ssl.pem_private_key = options.client_key_pem;
  return grpc::SslCredentials(ssl);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Client::Create(
    const ClientOptions& options) {
  if (absl::Status status = CheckOptions(options); !status.ok()) return status;
  std::shared_ptr<grpc::ChannelCredentials> credentials = Credentials(options);
  if (credentials == nullptr) {
    return absl::InvalidArgumentError("gRPC refused the TLS options");
  }
  grpc::ChannelArguments arguments;
  if (!options.server_name_override.empty()) {
    arguments.SetSslTargetNameOverride(options.server_name_override);
  }
  std::vector<std::unique_ptr<exp::ClientInterceptorFactoryInterface>>
      interceptors;
  if (!options.bearer_token.empty()) {
    interceptors.push_back(
        std::make_unique<BearerTokenFactory>(options.bearer_token));
  }
  std::shared_ptr<grpc::Channel> channel =
      exp::CreateCustomChannelWithInterceptors(
          options.address, credentials, arguments, std::move(interceptors));
  if (channel == nullptr) {
    return absl::InvalidArgumentError("gRPC could not create a channel to " +
                                      options.address);
  }
  return std::unique_ptr<Client>(new Client(options, std::move(channel)));
}

Client::Client(ClientOptions options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      subscriptions_(v1::SubscriptionService::NewStub(channel_)),
      principals_(v1::PrincipalService::NewStub(channel_)),
      dialects_(v1::DialectService::NewStub(channel_)),
      events_(v1::EventService::NewStub(channel_)),
      deliveries_(v1::DeliveryService::NewStub(channel_)),
      api_keys_(v1::ApiKeyService::NewStub(channel_)) {}

Client::~Client() = default;

absl::StatusOr<std::unique_ptr<Client>> Client::WithToken(
    std::string token) const {
  ClientOptions options = options_;
  options.bearer_token = std::move(token);
  return Create(options);
}

std::unique_ptr<grpc::ClientContext> Client::NewContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(
      absl::ToChronoTime(absl::Now() + options_.call_timeout));
  return context;
}

absl::StatusOr<v1::Subscription> Client::CreateSubscription(
    const v1::Subscription& subscription) const {
  v1::CreateSubscriptionRequest request;
  *request.mutable_subscription() = subscription;
  return Call(&v1::SubscriptionService::Stub::CreateSubscription, request);
}

absl::StatusOr<v1::Subscription> Client::GetSubscription(
    std::string_view id) const {
  v1::GetSubscriptionRequest request;
  request.set_id(std::string(id));
  return Call(&v1::SubscriptionService::Stub::GetSubscription, request);
}

absl::Status Client::DeleteSubscription(std::string_view id) const {
  v1::DeleteSubscriptionRequest request;
  request.set_id(std::string(id));
  return Call(&v1::SubscriptionService::Stub::DeleteSubscription, request)
      .status();
}

absl::StatusOr<v1::PublishResponse> Client::Publish(
    const std::vector<v1::Event>& events) const {
  v1::PublishRequest request;
  request.mutable_events()->Add(events.begin(), events.end());
  return Call(&v1::EventService::Stub::Publish, request);
}

absl::StatusOr<v1::Transaction> Client::GetTransaction(
    std::string_view transaction_id) const {
  v1::GetTransactionRequest request;
  request.set_transaction_id(std::string(transaction_id));
  return Call(&v1::EventService::Stub::GetTransaction, request);
}

Transaction Client::Begin(std::string transaction_id,
                          TransactionOptions options) const {
  if (transaction_id.empty()) transaction_id = NewTransactionId();
  return Transaction(this, std::move(transaction_id), options);
}

}  // namespace webhooks::client
