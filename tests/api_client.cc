#include "tests/api_client.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"

namespace webhooks::e2e {
namespace {

constexpr auto kCallTimeout = std::chrono::seconds(10);

using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

void SetDeadline(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
}

grpc::ByteBuffer ToByteBuffer(std::string_view bytes) {
  grpc::Slice slice(bytes.data(), bytes.size());
  return grpc::ByteBuffer(&slice, 1);
}

std::string ToBytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

// Waits for the completion of `tag`; false when the operation failed.
bool Await(grpc::CompletionQueue& cq, void* tag) {
  void* got = nullptr;
  bool ok = false;
  if (!cq.Next(&got, &ok)) return false;
  return ok && got == tag;
}

void Drain(grpc::CompletionQueue& cq) {
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }
}

void* Tag(int n) { return reinterpret_cast<void*>(static_cast<intptr_t>(n)); }

}  // namespace

std::string TokensConfig() {
  return absl::StrCat("tokens { token: \"", kAdminToken,
                      "\" principal: \"ops\" roles: ADMIN }\n"
                      "tokens { token: \"",
                      kPublisherToken,
                      "\" principal: \"pub\" roles: PUBLISHER }\n"
                      "tokens { token: \"",
                      kAliceToken,
                      "\" principal: \"alice\" roles: SUBSCRIBER }\n"
                      "tokens { token: \"",
                      kBobToken, "\" principal: \"bob\" roles: SUBSCRIBER }\n");
}

v1::Subscription NewSubscription(std::string_view site,
                                 std::string_view resource_type,
                                 std::string_view event_type,
                                 std::string_view path) {
  v1::Subscription s;
  s.set_site(std::string(site));
  s.set_resource_type(std::string(resource_type));
  s.set_event_type(std::string(event_type));
  s.set_target_url("https://hooks.example.com" + std::string(path));
  return s;
}

absl::Status ToAbsl(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

Api::Stubs::Stubs(const std::shared_ptr<grpc::Channel>& channel)
    : subscriptions(v1::SubscriptionService::NewStub(channel)),
      principals(v1::PrincipalService::NewStub(channel)),
      dialects(v1::DialectService::NewStub(channel)),
      events(v1::EventService::NewStub(channel)),
      deliveries(v1::DeliveryService::NewStub(channel)),
      api_keys(v1::ApiKeyService::NewStub(channel)) {}

Api::Api(std::shared_ptr<grpc::Channel> channel, std::string token)
    : channel_(std::move(channel)),
      authorization_(token.empty() ? "" : absl::StrCat("Bearer ", token)),
      stubs_(std::make_shared<Stubs>(channel_)) {}

Api Api::WithToken(std::string token) const {
  Api other = *this;
  other.authorization_ = token.empty() ? "" : absl::StrCat("Bearer ", token);
  return other;
}

Api Api::WithAuthorizationHeader(std::string value) const {
  Api other = *this;
  other.authorization_ = std::move(value);
  return other;
}

void Api::Prepare(grpc::ClientContext& context) const {
  SetDeadline(context);
  if (!authorization_.empty()) {
    context.AddMetadata("authorization", authorization_);
  }
}

absl::StatusOr<v1::Subscription> Api::CreateSubscription(
    const v1::Subscription& subscription) const {
  v1::CreateSubscriptionRequest request;
  *request.mutable_subscription() = subscription;
  return Call(&v1::SubscriptionService::Stub::CreateSubscription, request);
}

absl::StatusOr<v1::Subscription> Api::GetSubscription(
    std::string_view id) const {
  v1::GetSubscriptionRequest request;
  request.set_id(std::string(id));
  return Call(&v1::SubscriptionService::Stub::GetSubscription, request);
}

absl::StatusOr<v1::ListSubscriptionsResponse> Api::ListSubscriptions(
    const v1::ListSubscriptionsRequest& request) const {
  return Call(&v1::SubscriptionService::Stub::ListSubscriptions, request);
}

absl::StatusOr<std::vector<v1::Subscription>> Api::ListAllSubscriptions(
    v1::ListSubscriptionsRequest request) const {
  std::vector<v1::Subscription> all;
  for (int page = 0; page < 1000; ++page) {
    absl::StatusOr<v1::ListSubscriptionsResponse> response =
        ListSubscriptions(request);
    if (!response.ok()) return response.status();
    for (const v1::Subscription& s : response->subscriptions()) {
      all.push_back(s);
    }
    if (response->next_page_token().empty()) return all;
    request.set_page_token(response->next_page_token());
  }
  return absl::InternalError("ListSubscriptions never ended");
}

absl::StatusOr<v1::Subscription> Api::UpdateSubscription(
    const v1::Subscription& subscription,
    const std::vector<std::string>& paths) const {
  v1::UpdateSubscriptionRequest request;
  *request.mutable_subscription() = subscription;
  for (const std::string& path : paths) {
    request.mutable_update_mask()->add_paths(path);
  }
  return Call(&v1::SubscriptionService::Stub::UpdateSubscription, request);
}

absl::StatusOr<v1::Subscription> Api::ActivateSubscription(
    std::string_view id) const {
  v1::ActivateSubscriptionRequest request;
  request.set_id(std::string(id));
  return Call(&v1::SubscriptionService::Stub::ActivateSubscription, request);
}

absl::StatusOr<v1::Subscription> Api::DeactivateSubscription(
    std::string_view id, std::string_view status_message) const {
  v1::DeactivateSubscriptionRequest request;
  request.set_id(std::string(id));
  request.set_status_message(std::string(status_message));
  return Call(&v1::SubscriptionService::Stub::DeactivateSubscription, request);
}

absl::Status Api::DeleteSubscription(std::string_view id) const {
  v1::DeleteSubscriptionRequest request;
  request.set_id(std::string(id));
  return Call(&v1::SubscriptionService::Stub::DeleteSubscription, request)
      .status();
}

absl::StatusOr<v1::Subscription> Api::RotateSubscriptionSecret(
    std::string_view id) const {
  v1::RotateSubscriptionSecretRequest request;
  request.set_id(std::string(id));
  return Call(&v1::SubscriptionService::Stub::RotateSubscriptionSecret,
              request);
}

absl::StatusOr<v1::Principal> Api::SetPrincipalGroups(
    std::string_view principal_id,
    const std::vector<std::string>& groups) const {
  v1::SetPrincipalGroupsRequest request;
  request.set_principal_id(std::string(principal_id));
  for (const std::string& group : groups) request.add_groups(group);
  return Call(&v1::PrincipalService::Stub::SetPrincipalGroups, request);
}

absl::StatusOr<v1::Principal> Api::GetPrincipal(std::string_view id) const {
  v1::GetPrincipalRequest request;
  request.set_id(std::string(id));
  return Call(&v1::PrincipalService::Stub::GetPrincipal, request);
}

absl::StatusOr<v1::DeletePrincipalResponse> Api::DeletePrincipal(
    std::string_view id, bool deactivate_only) const {
  v1::DeletePrincipalRequest request;
  request.set_id(std::string(id));
  request.set_deactivate_only(deactivate_only);
  return Call(&v1::PrincipalService::Stub::DeletePrincipal, request);
}

absl::StatusOr<v1::Dialect> Api::CreateDialect(
    const v1::Dialect& dialect) const {
  v1::CreateDialectRequest request;
  *request.mutable_dialect() = dialect;
  return Call(&v1::DialectService::Stub::CreateDialect, request);
}

absl::StatusOr<v1::Dialect> Api::GetDialect(std::string_view name) const {
  v1::GetDialectRequest request;
  request.set_name(std::string(name));
  return Call(&v1::DialectService::Stub::GetDialect, request);
}

absl::StatusOr<v1::ListDialectsResponse> Api::ListDialects(
    const v1::ListDialectsRequest& request) const {
  return Call(&v1::DialectService::Stub::ListDialects, request);
}

absl::StatusOr<v1::Dialect> Api::UpdateDialect(
    const v1::Dialect& dialect, const std::vector<std::string>& paths) const {
  v1::UpdateDialectRequest request;
  *request.mutable_dialect() = dialect;
  for (const std::string& path : paths) {
    request.mutable_update_mask()->add_paths(path);
  }
  return Call(&v1::DialectService::Stub::UpdateDialect, request);
}

absl::Status Api::DeleteDialect(std::string_view name) const {
  v1::DeleteDialectRequest request;
  request.set_name(std::string(name));
  return Call(&v1::DialectService::Stub::DeleteDialect, request).status();
}

absl::Status Api::WatchOutcomes(const v1::WatchOutcomesRequest& request,
                                absl::Duration wait) const {
  grpc::ClientContext context;
  Prepare(context);
  context.set_deadline(absl::ToChronoTime(absl::Now() + wait));
  std::unique_ptr<grpc::ClientReader<v1::Outcome>> reader =
      stubs_->deliveries->WatchOutcomes(&context, request);
  v1::Outcome outcome;
  while (reader->Read(&outcome)) {
  }
  return ToAbsl(reader->Finish());
}

absl::StatusOr<v1::ListSubscriptionsResponse> SnapshotSubscriptions(
    const Api& api) {
  v1::ListSubscriptionsRequest request;
  request.set_page_size(1000);
  absl::StatusOr<std::vector<v1::Subscription>> all =
      api.ListAllSubscriptions(request);
  if (!all.ok()) return all.status();
  v1::ListSubscriptionsResponse snapshot;
  for (v1::Subscription& s : *all) *snapshot.add_subscriptions() = std::move(s);
  return snapshot;
}

absl::StatusOr<int> HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                                std::string_view service) {
  // HealthCheckRequest { string service = 1; }
  std::string request_bytes;
  if (!service.empty()) {
    UnknownFieldSet fields;
    fields.AddLengthDelimited(1, std::string(service));
    fields.SerializeToString(&request_bytes);
  }
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  SetDeadline(context);
  grpc::CompletionQueue cq;
  grpc::ByteBuffer request = ToByteBuffer(request_bytes);
  grpc::ByteBuffer response;
  grpc::Status status;
  auto call = stub.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check",
                                    request, &cq);
  call->StartCall();
  call->Finish(&response, &status, Tag(1));
  const bool done = Await(cq, Tag(1));
  Drain(cq);
  if (!done) return absl::InternalError("health call did not complete");
  if (!status.ok()) return ToAbsl(status);
  // HealthCheckResponse { ServingStatus status = 1; }
  UnknownFieldSet fields;
  if (!fields.ParseFromString(ToBytes(response))) {
    return absl::InternalError("unparsable HealthCheckResponse");
  }
  int serving = 0;  // UNKNOWN when absent
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& field = fields.field(i);
    if (field.number() == 1 && field.type() == UnknownField::TYPE_VARINT) {
      serving = static_cast<int>(field.varint());
    }
  }
  return serving;
}

absl::StatusOr<std::vector<std::string>> ReflectionListServices(
    const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  SetDeadline(context);
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(
      &context,
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  // ServerReflectionRequest { string list_services = 7; }
  const std::string request_bytes("\x3a\x00", 2);
  std::vector<std::string> responses;
  grpc::Status status;
  bool ok = false;
  call->StartCall(Tag(1));
  if (Await(cq, Tag(1))) {
    call->Write(ToByteBuffer(request_bytes), Tag(2));
    if (Await(cq, Tag(2))) {
      call->WritesDone(Tag(3));
      if (Await(cq, Tag(3))) {
        while (true) {
          grpc::ByteBuffer response;
          call->Read(&response, Tag(4));
          if (!Await(cq, Tag(4))) break;
          responses.push_back(ToBytes(response));
        }
      }
    }
  }
  call->Finish(&status, Tag(5));
  ok = Await(cq, Tag(5));
  Drain(cq);
  if (!ok) return absl::InternalError("reflection call did not complete");
  if (!status.ok()) return ToAbsl(status);
  // ServerReflectionResponse { ListServiceResponse list_services_response = 6;
  // } with ListServiceResponse { repeated ServiceResponse service = 1; } and
  // ServiceResponse { string name = 1; }.
  std::vector<std::string> names;
  for (const std::string& bytes : responses) {
    UnknownFieldSet top;
    if (!top.ParseFromString(bytes)) continue;
    for (int i = 0; i < top.field_count(); ++i) {
      if (top.field(i).number() != 6 ||
          top.field(i).type() != UnknownField::TYPE_LENGTH_DELIMITED) {
        continue;
      }
      UnknownFieldSet list;
      if (!list.ParseFromString(top.field(i).length_delimited())) continue;
      for (int j = 0; j < list.field_count(); ++j) {
        if (list.field(j).number() != 1 ||
            list.field(j).type() != UnknownField::TYPE_LENGTH_DELIMITED) {
          continue;
        }
        UnknownFieldSet service;
        if (!service.ParseFromString(list.field(j).length_delimited()))
          continue;
        for (int k = 0; k < service.field_count(); ++k) {
          if (service.field(k).number() == 1 &&
              service.field(k).type() == UnknownField::TYPE_LENGTH_DELIMITED) {
            names.push_back(service.field(k).length_delimited());
          }
        }
      }
    }
  }
  return names;
}

}  // namespace webhooks::e2e
