#include "tests/delivery_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/strings.h"
#include "google/protobuf/util/time_util.h"

namespace webhooks::e2e {
namespace {

constexpr absl::Duration kPoll = absl::Milliseconds(50);

std::string Describe(const Attempts& attempts) {
  std::string out;
  for (const v1::DeliveryAttempt& a : attempts) {
    absl::StrAppend(&out, "\n  #", a.attempt_number(), " ", a.delivery_id(),
                    " ", v1::DeliveryAttempt::Status_Name(a.status()), " \"",
                    a.message(), "\"");
  }
  return out.empty() ? " (none)" : out;
}

}  // namespace

std::string DeliveryConfig(std::string_view delivery_fields) {
  return StrCat(TokensConfig(), "delivery { ", delivery_fields, " }\n");
}

std::vector<std::string> TlsFlags(const TestCertificates& certificates) {
  return {"--ca_bundle=" + certificates.ca_file(),
          "--allowed_cidrs=127.0.0.1/32"};
}

v1::Subscription SubscriptionTo(std::string_view url, std::string_view owner) {
  v1::Subscription s;
  s.set_site("/");
  s.set_resource_type("user");
  s.set_event_type("added");
  s.set_target_url(std::string(url));
  s.set_owner(std::string(owner));
  return s;
}

absl::StatusOr<Attempts> ListAllAttempts(const Api& api,
                                         std::string_view subscription_id) {
  Attempts all;
  v1::ListAttemptsRequest request;
  request.set_subscription_id(std::string(subscription_id));
  request.set_page_size(1000);
  for (int page = 0; page < 100; ++page) {
    absl::StatusOr<v1::ListAttemptsResponse> response =
        api.Call(&v1::DeliveryService::Stub::ListAttempts, request);
    if (!response.ok()) return response.status();
    for (const v1::DeliveryAttempt& a : response->attempts()) all.push_back(a);
    if (response->next_page_token().empty()) return all;
    request.set_page_token(response->next_page_token());
  }
  return absl::InternalError("ListAttempts never ended");
}

absl::StatusOr<Attempts> WaitForAttempts(
    const Api& api, std::string_view subscription_id,
    const std::function<bool(const Attempts&)>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  Attempts last;
  while (true) {
    absl::StatusOr<Attempts> attempts = ListAllAttempts(api, subscription_id);
    if (!attempts.ok()) return attempts.status();
    if (done(*attempts)) return attempts;
    last = *std::move(attempts);
    if (absl::Now() > deadline) break;
    absl::SleepFor(kPoll);
  }
  return absl::DeadlineExceededError(
      StrCat("attempts of ", subscription_id, " after ",
             absl::FormatDuration(timeout), ":", Describe(last)));
}

Attempts Resolved(const Attempts& attempts) {
  Attempts resolved;
  for (const v1::DeliveryAttempt& a : attempts) {
    if (a.status() == v1::DeliveryAttempt::SUCCESSFUL ||
        a.status() == v1::DeliveryAttempt::FAILED) {
      resolved.push_back(a);
    }
  }
  return resolved;
}

absl::StatusOr<Attempts> WaitForResolvedAttempts(
    const Api& api, std::string_view subscription_id, size_t n,
    absl::Duration timeout) {
  absl::StatusOr<Attempts> attempts = WaitForAttempts(
      api, subscription_id,
      [n](const Attempts& all) { return Resolved(all).size() >= n; }, timeout);
  if (!attempts.ok()) return attempts.status();
  return Resolved(*attempts);
}

absl::StatusOr<v1::Delivery> GetDelivery(const Api& api,
                                         std::string_view delivery_id) {
  v1::GetDeliveryRequest request;
  request.set_delivery_id(std::string(delivery_id));
  return api.Call(&v1::DeliveryService::Stub::GetDelivery, request);
}

absl::StatusOr<v1::Delivery> WaitForDeliveryState(const Api& api,
                                                  std::string_view delivery_id,
                                                  v1::Delivery::State state,
                                                  absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<v1::Delivery> delivery = GetDelivery(api, delivery_id);
    if (!delivery.ok()) return delivery.status();
    if (delivery->state() == state) return delivery;
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(StrCat(
          "delivery ", delivery_id, " never reached ",
          v1::Delivery::State_Name(state), ": ", delivery->ShortDebugString()));
    }
    absl::SleepFor(kPoll);
  }
}

absl::StatusOr<v1::Subscription> WaitForInactive(
    const Api& api, std::string_view subscription_id, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<v1::Subscription> s = api.GetSubscription(subscription_id);
    if (!s.ok()) return s.status();
    if (!s->active()) return s;
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          StrCat("subscription ", subscription_id, " still active"));
    }
    absl::SleepFor(kPoll);
  }
}

absl::StatusOr<v1::Delivery> Redeliver(const Api& api,
                                       std::string_view delivery_id) {
  v1::RedeliverRequest request;
  request.set_delivery_id(std::string(delivery_id));
  return api.Call(&v1::DeliveryService::Stub::Redeliver, request);
}

absl::StatusOr<v1::Delivery> RedeliverWhenIdle(const Api& api,
                                               std::string_view delivery_id,
                                               absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<v1::Delivery> delivery = Redeliver(api, delivery_id);
    if (delivery.status().code() != absl::StatusCode::kFailedPrecondition ||
        absl::Now() > deadline) {
      return delivery;
    }
    absl::SleepFor(kPoll);
  }
}

absl::StatusOr<int64_t> RecoverFailedDeliveries(
    const Api& api, std::string_view subscription_id, absl::Time since) {
  v1::RecoverFailedDeliveriesRequest request;
  request.set_subscription_id(std::string(subscription_id));
  *request.mutable_since() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
          absl::ToUnixMicros(since));
  absl::StatusOr<v1::RecoverFailedDeliveriesResponse> response =
      api.Call(&v1::DeliveryService::Stub::RecoverFailedDeliveries, request);
  if (!response.ok()) return response.status();
  return response->redeliveries();
}

std::string HeaderValue(
    const google::protobuf::RepeatedPtrField<v1::Header>& headers,
    std::string_view name) {
  for (const v1::Header& header : headers) {
    if (absl::EqualsIgnoreCase(header.name(), AsAbsl(name))) {
      return header.value();
    }
  }
  return "";
}

absl::StatusOr<std::string> OpensslSignatureV1(std::string_view secret,
                                               std::string_view message_id,
                                               int64_t timestamp,
                                               std::string_view body) {
  absl::string_view encoded = AsAbsl(secret);
  if (!absl::ConsumePrefix(&encoded, "whsec_")) {
    return absl::InvalidArgumentError("not a whsec_ secret");
  }
  std::string key;
  if (!absl::Base64Unescape(encoded, &key)) {
    return absl::InvalidArgumentError("secret is not base64");
  }
  char path[] = "/tmp/webhookd-e2e-signed-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return absl::InternalError("mkstemp failed");
  close(fd);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << message_id << "." << timestamp << "." << body;
  }
  const std::string command = absl::StrCat(
      "openssl dgst -sha256 -mac HMAC -macopt hexkey:",
      absl::BytesToHexString(key), " -binary ", path, " | openssl base64 -A");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    unlink(path);
    return absl::InternalError("popen failed");
  }
  std::string output;
  char buffer[256];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    output.append(buffer, n);
  }
  const int rc = pclose(pipe);
  unlink(path);
  if (rc != 0 || output.empty()) {
    return absl::InternalError(StrCat("`", command, "` failed: ", output));
  }
  return StrCat("v1,", absl::StripAsciiWhitespace(output));
}

OutcomeStream::OutcomeStream(const std::shared_ptr<grpc::Channel>& channel,
                             const std::string& token,
                             std::string subscription_id)
    : stub_(v1::DeliveryService::NewStub(channel)) {
  if (!token.empty()) {
    context_.AddMetadata("authorization", StrCat("Bearer ", token));
  }
  context_.set_deadline(std::chrono::system_clock::now() +
                        std::chrono::minutes(10));
  v1::WatchOutcomesRequest request;
  request.set_subscription_id(std::move(subscription_id));
  reader_ = stub_->WatchOutcomes(&context_, request);
  reader_->WaitForInitialMetadata();
  thread_ = std::thread([this] {
    v1::Outcome outcome;
    while (reader_->Read(&outcome)) {
      absl::MutexLock lock(&mu_);
      outcomes_.push_back(outcome);
    }
    absl::Status status = ToAbsl(reader_->Finish());
    absl::MutexLock lock(&mu_);
    end_ = std::move(status);
  });
}

OutcomeStream::~OutcomeStream() {
  context_.TryCancel();
  thread_.join();
}

std::vector<v1::Outcome> OutcomeStream::Outcomes() const {
  absl::MutexLock lock(&mu_);
  return outcomes_;
}

bool OutcomeStream::WaitFor(
    const std::function<bool(const std::vector<v1::Outcome>&)>& done,
    absl::Duration timeout) const {
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return done(outcomes_);
  };
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
}

std::optional<absl::Status> OutcomeStream::WaitForEnd(
    absl::Duration timeout) const {
  auto ended = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return end_.has_value();
  };
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&ended), timeout);
  return end_;
}

std::vector<v1::Outcome> OutcomesOf(const std::vector<v1::Outcome>& outcomes,
                                    v1::Outcome::Kind kind,
                                    std::string_view subscription_id) {
  std::vector<v1::Outcome> matching;
  for (const v1::Outcome& outcome : outcomes) {
    if (outcome.kind() == kind &&
        outcome.subscription_id() == subscription_id) {
      matching.push_back(outcome);
    }
  }
  return matching;
}

}  // namespace webhooks::e2e
