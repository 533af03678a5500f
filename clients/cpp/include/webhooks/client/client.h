// A client of webhookd's gRPC API (webhooks.v1): one channel, the five
// service stubs, a bearer token on every call, and a few convenience calls.
//
//   webhooks::client::ClientOptions options;
//   options.address = "webhooks.example.com:7443";
//   options.root_ca_pem = ca_pem;            // empty: the system's roots
//   options.bearer_token = token;
//   absl::StatusOr<std::unique_ptr<webhooks::client::Client>> client =
//       webhooks::client::Client::Create(options);
//   if (!client.ok()) return client.status();
//   absl::StatusOr<webhooks::v1::Subscription> sub =
//       (*client)->CreateSubscription(subscription);
//   // Any RPC, through the generic Call() or a stub:
//   absl::StatusOr<webhooks::v1::ListDialectsResponse> dialects =
//       (*client)->Call(&webhooks::v1::DialectService::Stub::ListDialects,
//                       webhooks::v1::ListDialectsRequest());
//
// A Client is safe for concurrent use by several threads.
#ifndef WEBHOOKS_CLIENT_CLIENT_H_
#define WEBHOOKS_CLIENT_CLIENT_H_

#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "webhooks/client/status.h"
#include "webhooks/client/transaction.h"
#include "webhooks/v1/api_key.grpc.pb.h"
#include "webhooks/v1/delivery.grpc.pb.h"
#include "webhooks/v1/dialect.grpc.pb.h"
#include "webhooks/v1/event.grpc.pb.h"
#include "webhooks/v1/principal.grpc.pb.h"
#include "webhooks/v1/subscription.grpc.pb.h"

namespace webhooks::client {

namespace v1 = ::webhooks::v1;

struct ClientOptions {
  // The server, "host:port" (any gRPC target name).
  std::string address;

  // No TLS at all: for a server on loopback (development, tests). The bearer
  // token then travels in plaintext. Cannot be combined with the TLS fields.
  bool insecure_plaintext = false;
  // PEM certificates the server's certificate is verified against; empty for
  // the system's roots.
  std::string root_ca_pem;
  // PEM certificate chain and private key presented to the server (mutual
  // TLS); both or neither.
  std::string client_cert_pem;
  std::string client_key_pem;
  // The name the server's certificate is checked against, instead of the host
  // of `address`.
  std::string server_name_override;

  // Sent as `authorization: Bearer <token>` with every call; empty for none.
  std::string bearer_token;

  // The deadline of every call made through Call(), the convenience calls
  // and NewContext().
  absl::Duration call_timeout = absl::Seconds(30);
};

class Client {
 public:
  // Checks `options` (INVALID_ARGUMENT naming the problem) and creates the
  // channel. Connecting happens in the background, on the first call.
  static absl::StatusOr<std::unique_ptr<Client>> Create(
      const ClientOptions& options);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // A client with the same options but another bearer token ("" for none),
  // on a channel of its own.
  absl::StatusOr<std::unique_ptr<Client>> WithToken(std::string token) const;

  // The stubs, on a channel that adds the bearer token to every call. Give
  // each call a context from NewContext() (or your own with a deadline).
  v1::SubscriptionService::Stub& subscriptions() const {
    return *subscriptions_;
  }
  v1::PrincipalService::Stub& principals() const { return *principals_; }
  v1::DialectService::Stub& dialects() const { return *dialects_; }
  v1::EventService::Stub& events() const { return *events_; }
  v1::DeliveryService::Stub& deliveries() const { return *deliveries_; }
  v1::ApiKeyService::Stub& api_keys() const { return *api_keys_; }  // admin
  // The channel (with the token), for other services (grpc.health.v1).
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

  // A context whose deadline is options.call_timeout from now.
  std::unique_ptr<grpc::ClientContext> NewContext() const;

  // Calls any unary method of the six services, e.g.
  // Call(&v1::EventService::Stub::GetTransaction, request), with a context
  // from NewContext(); a failure is FromGrpcStatus() of the gRPC status.
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Call(
      grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                   Response*),
      const Request& request) const {
    std::unique_ptr<grpc::ClientContext> context = NewContext();
    Response response;
    grpc::Status status =
        (StubFor<Stub>().*method)(context.get(), request, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    return response;
  }

  // Convenience calls.
  absl::StatusOr<v1::Subscription> CreateSubscription(
      const v1::Subscription& subscription) const;
  absl::StatusOr<v1::Subscription> GetSubscription(std::string_view id) const;
  absl::Status DeleteSubscription(std::string_view id) const;
  // Prepares and commits `events` in one call.
  absl::StatusOr<v1::PublishResponse> Publish(
      const std::vector<v1::Event>& events) const;
  absl::StatusOr<v1::Transaction> GetTransaction(
      std::string_view transaction_id) const;

  // Opens the transaction `transaction_id` (NewTransactionId() when empty) on
  // this client, which must outlive it. Nothing is sent until Prepare().
  Transaction Begin(std::string transaction_id = "",
                    TransactionOptions options = {}) const;

 private:
  Client(ClientOptions options, std::shared_ptr<grpc::Channel> channel);

  template <typename Stub>
  Stub& StubFor() const {
    if constexpr (std::is_same_v<Stub, v1::SubscriptionService::Stub>) {
      return *subscriptions_;
    } else if constexpr (std::is_same_v<Stub, v1::PrincipalService::Stub>) {
      return *principals_;
    } else if constexpr (std::is_same_v<Stub, v1::DialectService::Stub>) {
      return *dialects_;
    } else if constexpr (std::is_same_v<Stub, v1::EventService::Stub>) {
      return *events_;
    } else if constexpr (std::is_same_v<Stub, v1::ApiKeyService::Stub>) {
      return *api_keys_;
    } else {
      static_assert(std::is_same_v<Stub, v1::DeliveryService::Stub>,
                    "Call() takes a method of a webhooks.v1 service stub");
      return *deliveries_;
    }
  }

  // Constant after construction.
  const ClientOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::SubscriptionService::Stub> subscriptions_;
  const std::unique_ptr<v1::PrincipalService::Stub> principals_;
  const std::unique_ptr<v1::DialectService::Stub> dialects_;
  const std::unique_ptr<v1::EventService::Stub> events_;
  const std::unique_ptr<v1::DeliveryService::Stub> deliveries_;
  const std::unique_ptr<v1::ApiKeyService::Stub> api_keys_;
};

}  // namespace webhooks::client

#endif  // WEBHOOKS_CLIENT_CLIENT_H_
