#include "tests/delivery_fixture.h"

#include <utility>

#include "common/strings.h"
#include "tests/event_client.h"
#include "tests/matchers.h"

namespace webhooks::e2e {

void DeliveryE2eTest::StartReceiver(bool tls) {
  absl::StatusOr<const TestCertificates*> certs = TestCertificates::Shared();
  ASSERT_OK(certs.status());
  certs_ = *certs;
  ASSERT_OK_AND_ASSIGN(receiver_, tls ? HttpsReceiver::Start(certs_)
                                      : HttpsReceiver::StartHttp());
}

void DeliveryE2eTest::StartServer(std::string_view delivery_fields,
                                  std::vector<std::string> flags) {
  ASSERT_OK_AND_ASSIGN(
      server_,
      ServerProcess::Start(DeliveryConfig(delivery_fields), std::move(flags)));
  admin_.emplace(server_->NewChannel(), kAdminToken);
  publisher_.emplace(admin_->WithToken(kPublisherToken));
}

void DeliveryE2eTest::StartTlsServer(std::string_view delivery_fields,
                                     std::vector<std::string> more_flags) {
  if (certs_ == nullptr) {
    absl::StatusOr<const TestCertificates*> certs = TestCertificates::Shared();
    ASSERT_OK(certs.status());
    certs_ = *certs;
  }
  std::vector<std::string> flags = TlsFlags(*certs_);
  flags.insert(flags.end(), more_flags.begin(), more_flags.end());
  StartServer(delivery_fields, std::move(flags));
}

absl::StatusOr<v1::Subscription> DeliveryE2eTest::Subscribe(
    std::string_view url, const Api* as, std::string_view owner) {
  return (as != nullptr ? *as : admin())
      .CreateSubscription(SubscriptionTo(url, owner));
}

absl::StatusOr<v1::Subscription> DeliveryE2eTest::SubscribeWith(
    std::string_view path, v1::DeliveryControl control) {
  v1::Subscription s = SubscriptionTo(receiver_->Url(path));
  *s.mutable_delivery() = std::move(control);
  return admin().CreateSubscription(s);
}

absl::Status DeliveryE2eTest::Publish(const std::vector<std::string>& event_ids,
                                      std::string_view allow) {
  std::vector<v1::Event> events;
  for (const std::string& id : event_ids) {
    events.push_back(NewEvent(id));
    if (!allow.empty()) *events.back().add_acl() = Allow(allow);
  }
  return PublishEvents(publisher(), events).status();
}

std::string EventBody(std::string_view event_id) {
  return StrCat("{\"id\":\"", event_id, "\"}");
}

std::string EventIdOf(const ReceivedRequest& r) {
  const std::string marker = "\"id\":\"";
  const size_t at = r.body.find(marker);
  if (at == std::string::npos) return "";
  const size_t from = at + marker.size();
  return r.body.substr(from, r.body.find('"', from) - from);
}

}  // namespace webhooks::e2e
