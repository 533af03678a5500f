// A program outside the webhookd tree using the installed SDK
// (find_package(webhooks_client CONFIG), target webhooks::client).
//
//   webhooks_client_example                    checks a signature, offline
//   webhooks_client_example HOST:PORT TOKEN    also publishes one event in a
//                                              transaction (plaintext:
//                                              loopback)
#include <iostream>
#include <memory>
#include <string>

#include "webhooks/client/client.h"
#include "webhooks/client/status.h"
#include "webhooks/client/transaction.h"
#include "webhooks/client/verify.h"

namespace wc = webhooks::client;

int main(int argc, char** argv) {
  // A receiver's side: verify a delivery signed as the server signs it.
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const std::string body = R"({"id":"u-1"})";
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  absl::StatusOr<std::string> signature = wc::Sign(secret, "msg_1", now, body);
  if (!signature.ok()) return 1;
  const std::string timestamp = std::to_string(now);
  absl::Status verified = wc::Verify(
      secret, wc::SignatureHeaders{"msg_1", timestamp, *signature}, body);
  absl::Status tampered = wc::Verify(
      secret, wc::SignatureHeaders{"msg_1", timestamp, *signature}, body + "x");
  std::cout << "verify: " << verified << ", tampered: " << tampered << "\n";
  if (!verified.ok() || tampered.ok()) return 1;
  if (argc < 3) return 0;

  // A publisher's side: one event in a transaction.
  wc::ClientOptions options;
  options.address = argv[1];
  options.insecure_plaintext = true;
  options.bearer_token = argv[2];
  absl::StatusOr<std::unique_ptr<wc::Client>> client =
      wc::Client::Create(options);
  if (!client.ok()) {
    std::cerr << client.status() << "\n";
    return 1;
  }
  webhooks::v1::Event event;
  event.set_id("evt-example-1");
  event.set_site("/example");
  event.add_resource_types("user");
  event.add_event_types("added");
  (*event.mutable_representations())["webhook-delivery"].set_body(body);
  wc::Transaction tx = (*client)->Begin();
  if (absl::Status s = tx.Prepare({event}); !s.ok()) {
    std::cerr << "prepare: " << s << " (field " << wc::GetFieldError(s).field
              << ")\n";
    return 1;  // tx aborts as it goes out of scope
  }
  if (absl::Status s = tx.Commit(); !s.ok()) {
    std::cerr << "commit: " << s << "\n";
    return 1;
  }
  std::cout << tx.id() << ": " << tx.deliveries_created() << " deliveries\n";
  return 0;
}
