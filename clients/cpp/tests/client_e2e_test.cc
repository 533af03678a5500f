// The C++ SDK against a real webhookd process (tests/ harness: the server on
// 127.0.0.1 port 0 with a fresh data directory, and a local HTTP receiver).
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/api_client.h"
#include "tests/https_receiver.h"
#include "tests/server_process.h"
#include "webhooks/client/client.h"
#include "webhooks/client/status.h"
#include "webhooks/client/transaction.h"
#include "webhooks/client/verify.h"

namespace webhooks::client {
namespace {

using ::webhooks::e2e::HttpsReceiver;
using ::webhooks::e2e::ReceivedRequest;
using ::webhooks::e2e::ServerProcess;

constexpr absl::Duration kWait = absl::Seconds(60);

// The server shared by the tests: tokens for an admin ("ops"), a publisher
// and the subscribers alice and bob; deliveries over http to 127.0.0.1.
class ClientE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start(
            e2e::TokensConfig() +
                "delivery { retry_schedule_seconds: [0, 1, 1] "
                "total_timeout_ms: 5000 }\n",
            {"--allow_http_targets", "--allowed_cidrs=127.0.0.1/32"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    absl::StatusOr<std::unique_ptr<HttpsReceiver>> receiver =
        HttpsReceiver::StartHttp();
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_ = std::move(*receiver);
  }
  void TearDown() override {
    if (HasFailure()) server_->DumpLog();
  }

  // A plaintext client of the shared server with `token`.
  static std::unique_ptr<Client> Connect(const std::string& token) {
    ClientOptions options;
    options.address = server_->address();
    options.insecure_plaintext = true;
    options.bearer_token = token;
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }

  // A site of the test's own, so tests do not match each other's
  // subscriptions.
  static std::string UniqueSite(const std::string& name) {
    return "/cppsdk/" + name + "/" + NewTransactionId().substr(3);
  }

  // As alice: a subscription to users added in `site`, sent to `path` on the
  // receiver.
  v1::Subscription Subscribe(const std::string& site, const std::string& path) {
    v1::Subscription s;
    s.set_site(site);
    s.set_resource_type("user");
    s.set_event_type("added");
    s.set_target_url(receiver_->Url(path));
    absl::StatusOr<v1::Subscription> created =
        Connect(e2e::kAliceToken)->CreateSubscription(s);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : v1::Subscription();
  }

  static ServerProcess* server_;
  std::unique_ptr<HttpsReceiver> receiver_;
};

ServerProcess* ClientE2eTest::server_ = nullptr;

// A "user added" event in `site` that everyone may see.
v1::Event UserAdded(const std::string& site, const std::string& id,
                    const std::string& body) {
  v1::Event event;
  event.set_id(id);
  event.set_site(site);
  event.add_resource_types("user");
  event.add_event_types("added");
  (*event.mutable_representations())["webhook-delivery"].set_body(body);
  v1::AclEntry* allow = event.add_acl();
  allow->set_action(v1::AclEntry::ALLOW);
  allow->set_principal("system.Everyone");
  allow->set_permission("view");
  return event;
}

v1::Transaction::State StateOf(const Client& client, const std::string& id) {
  absl::StatusOr<v1::Transaction> tx = client.GetTransaction(id);
  EXPECT_TRUE(tx.ok()) << id << ": " << tx.status();
  return tx.ok() ? tx->state() : v1::Transaction::STATE_UNSPECIFIED;
}

TEST_F(ClientE2eTest, SubscriberCreatesSubscription) {
  std::unique_ptr<Client> alice = Connect(e2e::kAliceToken);
  v1::Subscription s;
  s.set_site(UniqueSite("subscribe"));
  s.set_resource_type("user");
  s.set_event_type("added");
  s.set_target_url(receiver_->Url("/hooks"));
  absl::StatusOr<v1::Subscription> created = alice->CreateSubscription(s);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->owner(), "alice");
  EXPECT_EQ(created->site(), s.site());
  EXPECT_TRUE(created->active());
  EXPECT_EQ(created->secret().rfind("whsec_", 0), 0u) << created->secret();

  // alice reads it back (the secret is not returned again); bob does not
  // see it.
  absl::StatusOr<v1::Subscription> got = alice->GetSubscription(created->id());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->id(), created->id());
  EXPECT_EQ(got->secret(), "");
  absl::StatusOr<v1::Subscription> bobs =
      Connect(e2e::kBobToken)->GetSubscription(created->id());
  EXPECT_FALSE(bobs.ok());

  // The stub directly, with a context from NewContext(): the token is sent.
  v1::ListSubscriptionsRequest request;
  request.set_site(s.site());
  v1::ListSubscriptionsResponse response;
  grpc::Status status = alice->subscriptions().ListSubscriptions(
      alice->NewContext().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.subscriptions_size(), 1);
  EXPECT_EQ(response.subscriptions(0).id(), created->id());

  EXPECT_TRUE(alice->DeleteSubscription(created->id()).ok());
  EXPECT_EQ(alice->GetSubscription(created->id()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ClientE2eTest, CommittedTransactionIsDeliveredAndVerifies) {
  const std::string site = UniqueSite("deliver");
  v1::Subscription sub = Subscribe(site, "/hooks/users");
  ASSERT_FALSE(sub.secret().empty());
  std::unique_ptr<Client> publisher = Connect(e2e::kPublisherToken);

  const std::string body = R"({"id":"u-1","name":"Ada"})";
  std::string tx_id;
  {
    Transaction tx = publisher->Begin();
    tx_id = tx.id();
    EXPECT_EQ(tx_id.rfind("tx_", 0), 0u);
    ASSERT_TRUE(tx.Prepare({UserAdded(site + "/ops", "evt-1", body)}).ok());
    ASSERT_EQ(tx.event_results().size(), 1u);
    EXPECT_EQ(tx.event_results()[0].matched_subscriptions(), 1);
    EXPECT_EQ(StateOf(*publisher, tx_id), v1::Transaction::PREPARED);
    // Nothing is delivered before the commit.
    EXPECT_FALSE(receiver_->WaitForRequests(1, absl::Milliseconds(300)));
    absl::Status committed = tx.Commit();
    ASSERT_TRUE(committed.ok()) << committed;
    EXPECT_EQ(tx.transaction().state(), v1::Transaction::COMMITTED);
    EXPECT_EQ(tx.deliveries_created(), 1);
    // Committed once: again is refused, and the destructor does not abort.
    EXPECT_EQ(tx.Commit().code(), absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(StateOf(*publisher, tx_id), v1::Transaction::COMMITTED);

  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait, "/hooks/users"));
  const ReceivedRequest got = receiver_->Requests("/hooks/users")[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.body, body);
  absl::Status verified = Verify(sub.secret(), got.headers, got.body);
  EXPECT_TRUE(verified.ok()) << verified;

  // Tampered body, another secret, an hour later: refused.
  EXPECT_EQ(Verify(sub.secret(), got.headers, got.body + " ").code(),
            absl::StatusCode::kUnauthenticated);
  std::string tampered = got.body;
  tampered[tampered.find("Ada")] = 'E';
  EXPECT_EQ(Verify(sub.secret(), got.headers, tampered).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Verify("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
                   got.headers, got.body)
                .code(),
            absl::StatusCode::kUnauthenticated);
  VerifyOptions later;
  later.now = absl::Now() + absl::Hours(1);
  EXPECT_EQ(Verify(sub.secret(), got.headers, got.body, later).code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(ClientE2eTest,
       TransactionDestroyedWithoutCommitIsAbortedAndDeliversNothing) {
  const std::string site = UniqueSite("abort");
  ASSERT_FALSE(Subscribe(site, "/hooks").id().empty());
  std::unique_ptr<Client> publisher = Connect(e2e::kPublisherToken);

  // Goes out of scope after Prepare, without Commit.
  std::string dropped;
  {
    Transaction tx = publisher->Begin();
    dropped = tx.id();
    ASSERT_TRUE(
        tx.Prepare({UserAdded(site, "evt-dropped", R"({"n":1})")}).ok());
    EXPECT_EQ(StateOf(*publisher, dropped), v1::Transaction::PREPARED);
  }
  EXPECT_EQ(StateOf(*publisher, dropped), v1::Transaction::ABORTED);

  // Unwound by an exception between Prepare and Commit.
  std::string thrown;
  try {
    Transaction tx = publisher->Begin();
    thrown = tx.id();
    if (tx.Prepare({UserAdded(site, "evt-thrown", R"({"n":2})")}).ok()) {
      throw std::runtime_error("the user was not created after all");
    }
    ADD_FAILURE() << "Prepare failed";
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(StateOf(*publisher, thrown), v1::Transaction::ABORTED);

  // Moved from: only the destination aborts, once.
  std::string moved;
  {
    Transaction first = publisher->Begin();
    moved = first.id();
    ASSERT_TRUE(
        first.Prepare({UserAdded(site, "evt-moved", R"({"n":3})")}).ok());
    Transaction second = std::move(first);
    EXPECT_EQ(first.Commit().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(StateOf(*publisher, moved), v1::Transaction::PREPARED);
  }
  EXPECT_EQ(StateOf(*publisher, moved), v1::Transaction::ABORTED);

  // A committed marker after them arrives, and is the only delivery.
  {
    Transaction tx = publisher->Begin();
    ASSERT_TRUE(
        tx.Prepare({UserAdded(site, "evt-marker", R"({"marker":true})")}).ok());
    ASSERT_TRUE(tx.Commit().ok());
  }
  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait, "/hooks"));
  std::vector<ReceivedRequest> all = receiver_->Requests();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].body, R"({"marker":true})");
  // The aborted transactions created no deliveries at all.
  for (const std::string& id : {dropped, thrown, moved}) {
    absl::StatusOr<v1::Transaction> tx = publisher->GetTransaction(id);
    ASSERT_TRUE(tx.ok()) << tx.status();
    EXPECT_EQ(tx->delivery_count(), 0) << id;
  }
}

TEST_F(ClientE2eTest, TransactionWithNothingPreparedSendsNothing) {
  std::unique_ptr<Client> publisher = Connect(e2e::kPublisherToken);
  std::string id;
  {
    Transaction tx = publisher->Begin();
    id = tx.id();
    EXPECT_TRUE(tx.Prepare({}).ok());
    EXPECT_TRUE(tx.Commit().ok());
  }
  EXPECT_EQ(publisher->GetTransaction(id).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ClientE2eTest, BadRequestIsInvalidArgumentWithFieldPath) {
  v1::Subscription s;
  s.set_site("NOAA");
  s.set_resource_type("user");
  s.set_event_type("added");
  s.set_target_url(receiver_->Url("/hooks"));
  absl::Status status =
      Connect(e2e::kAliceToken)->CreateSubscription(s).status();
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  FieldError error = GetFieldError(status);
  EXPECT_EQ(error.field, "subscription.site") << status;
  EXPECT_FALSE(error.message.empty());
  EXPECT_NE(error.message.rfind("subscription.site", 0), 0u) << error.message;

  // An invalid event in a transaction: the field is the event's.
  std::unique_ptr<Client> publisher = Connect(e2e::kPublisherToken);
  Transaction tx = publisher->Begin();
  v1::Event event;
  event.set_id("evt-invalid");
  event.set_site("/cppsdk/invalid");
  event.add_event_types("added");
  absl::Status prepared = tx.Prepare({event});
  ASSERT_EQ(prepared.code(), absl::StatusCode::kInvalidArgument) << prepared;
  EXPECT_EQ(GetFieldError(prepared).field.rfind("events[0].resource_types", 0),
            0u)
      << prepared;
  // Nothing was stored: aborting is a no-op.
  EXPECT_TRUE(tx.Abort().ok());
}

TEST_F(ClientE2eTest, MissingOrUnknownTokenIsUnauthenticated) {
  for (const std::string token : {"", "not-a-configured-token-000"}) {
    std::unique_ptr<Client> client = Connect(token);
    absl::Status status =
        client
            ->Call(&v1::SubscriptionService::Stub::ListSubscriptions,
                   v1::ListSubscriptionsRequest())
            .status();
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated)
        << "token \"" << token << "\": " << status;
  }
  // The same options with a token are let in.
  absl::StatusOr<std::unique_ptr<Client>> admin =
      Connect("")->WithToken(e2e::kAdminToken);
  ASSERT_TRUE(admin.ok()) << admin.status();
  absl::StatusOr<v1::ListDialectsResponse> dialects = (*admin)->Call(
      &v1::DialectService::Stub::ListDialects, v1::ListDialectsRequest());
  ASSERT_TRUE(dialects.ok()) << dialects.status();
  EXPECT_GT(dialects->dialects_size(), 0);
}

TEST_F(ClientE2eTest, RoleIsChecked) {
  // A subscriber may not publish.
  std::unique_ptr<Client> alice = Connect(e2e::kAliceToken);
  Transaction tx = alice->Begin();
  EXPECT_EQ(tx.Prepare({UserAdded("/cppsdk/role", "evt-1", "{}")}).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(alice->Publish({UserAdded("/cppsdk/role", "evt-2", "{}")})
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(ClientOptionsTest, RefusesInconsistentOptions) {
  ClientOptions empty;
  EXPECT_EQ(Client::Create(empty).status().code(),
            absl::StatusCode::kInvalidArgument);

  ClientOptions mixed;
  mixed.address = "127.0.0.1:1";
  mixed.insecure_plaintext = true;
  mixed.root_ca_pem = "-----BEGIN CERTIFICATE-----";
  EXPECT_EQ(Client::Create(mixed).status().code(),
            absl::StatusCode::kInvalidArgument);

  ClientOptions half_pair;
  half_pair.address = "127.0.0.1:1";
  half_pair.client_cert_pem = "cert";
  EXPECT_EQ(Client::Create(half_pair).status().code(),
            absl::StatusCode::kInvalidArgument);

  ClientOptions bad_token;
  bad_token.address = "127.0.0.1:1";
  bad_token.insecure_plaintext = true;
  bad_token.bearer_token = "two words";
  EXPECT_EQ(Client::Create(bad_token).status().code(),
            absl::StatusCode::kInvalidArgument);

  // Nothing listens on port 1: calls fail with UNAVAILABLE, not a crash.
  ClientOptions closed;
  closed.address = "127.0.0.1:1";
  closed.insecure_plaintext = true;
  closed.call_timeout = absl::Seconds(5);
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(closed);
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ((*client)->GetTransaction("x").status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace webhooks::client
