#include "webhooks/client/transaction.h"

#include <openssl/rand.h>

#include <random>
#include <utility>

#include "absl/strings/escaping.h"
#include "google/protobuf/duration.pb.h"
#include "grpcpp/client_context.h"
#include "webhooks/client/client.h"
#include "webhooks/client/status.h"
#include "webhooks/v1/event.grpc.pb.h"

namespace webhooks::client {

std::string NewTransactionId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // OpenSSL's generator does not fail once seeded; do without it if it does.
    std::random_device device;
    for (unsigned char& byte : bytes)
      byte = static_cast<unsigned char>(device());
  }
  return "tx_" + absl::BytesToHexString(absl::string_view(
                     reinterpret_cast<const char*>(bytes), sizeof bytes));
}

Transaction::Transaction(const Client* client, std::string id,
                         TransactionOptions options)
    : client_(client), id_(std::move(id)), options_(options) {}

Transaction::Transaction(Transaction&& other) noexcept
    : client_(std::exchange(other.client_, nullptr)),
      id_(std::move(other.id_)),
      options_(other.options_),
      prepared_(other.prepared_),
      resolved_(other.resolved_),
      transaction_(std::move(other.transaction_)),
      event_results_(std::move(other.event_results_)),
      deliveries_created_(other.deliveries_created_) {}

Transaction& Transaction::operator=(Transaction&& other) noexcept {
  if (this != &other) {
    if (client_ != nullptr) (void)Abort();
    client_ = std::exchange(other.client_, nullptr);
    id_ = std::move(other.id_);
    options_ = other.options_;
    prepared_ = other.prepared_;
    resolved_ = other.resolved_;
    transaction_ = std::move(other.transaction_);
    event_results_ = std::move(other.event_results_);
    deliveries_created_ = other.deliveries_created_;
  }
  return *this;
}

Transaction::~Transaction() {
  if (client_ != nullptr) (void)Abort();
}

absl::Status Transaction::Prepare(const std::vector<v1::Event>& events) {
  if (client_ == nullptr) {
    return absl::FailedPreconditionError("transaction was moved from");
  }
  if (resolved_) {
    return absl::FailedPreconditionError("transaction " + id_ +
                                         " was already committed or aborted");
  }
  if (events.empty()) return absl::OkStatus();
  v1::PrepareRequest request;
  request.set_transaction_id(id_);
  request.mutable_events()->Add(events.begin(), events.end());
  if (options_.ttl > absl::ZeroDuration() && !prepared_) {
    const int64_t nanos = absl::ToInt64Nanoseconds(options_.ttl);
    request.mutable_ttl()->set_seconds(nanos / 1000000000);
    request.mutable_ttl()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
  }
  // A failed Prepare may still have reached the server.
  prepared_ = true;
  absl::StatusOr<v1::PrepareResponse> response =
      client_->Call(&v1::EventService::Stub::Prepare, request);
  if (!response.ok()) return response.status();
  transaction_ = response->transaction();
  event_results_.insert(event_results_.end(), response->event_results().begin(),
                        response->event_results().end());
  return absl::OkStatus();
}

absl::Status Transaction::Commit() {
  if (client_ == nullptr) {
    return absl::FailedPreconditionError("transaction was moved from");
  }
  if (resolved_) {
    return absl::FailedPreconditionError("transaction " + id_ +
                                         " was already committed or aborted");
  }
  if (!prepared_) return absl::OkStatus();
  // Whatever happens, the destructor must not undo a commit that may have
  // reached the server.
  resolved_ = true;
  v1::CommitRequest request;
  request.set_transaction_id(id_);
  absl::StatusOr<v1::CommitResponse> response =
      client_->Call(&v1::EventService::Stub::Commit, request);
  if (!response.ok()) return response.status();
  transaction_ = response->transaction();
  deliveries_created_ = response->deliveries_created();
  return absl::OkStatus();
}

absl::Status Transaction::Abort() {
  if (client_ == nullptr || resolved_ || !prepared_) return absl::OkStatus();
  resolved_ = true;
  v1::AbortRequest request;
  request.set_transaction_id(id_);
  v1::AbortResponse response;
  grpc::ClientContext context;
  context.set_deadline(
      absl::ToChronoTime(absl::Now() + options_.abort_timeout));
  grpc::Status status = client_->events().Abort(&context, request, &response);
  // NOT_FOUND: nothing was stored (the first Prepare failed).
  if (status.ok()) {
    transaction_ = response.transaction();
    return absl::OkStatus();
  }
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    return absl::OkStatus();
  }
  return FromGrpcStatus(status);
}

}  // namespace webhooks::client
