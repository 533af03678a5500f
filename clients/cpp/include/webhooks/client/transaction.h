// A publisher's transaction, RAII style: events are prepared (stored
// durably) as they are added, and delivered only once Commit() succeeds. A
// transaction destroyed after a Prepare() without Commit() or Abort() is
// aborted by its destructor, so an early return or an exception between
// Prepare and Commit delivers nothing.
//
//   webhooks::client::Transaction tx = client->Begin();
//   if (absl::Status s = tx.Prepare({event}); !s.ok()) return s;
//   ... the publisher's own work; returning here aborts ...
//   if (absl::Status s = tx.Commit(); !s.ok()) return s;
//
// Semantics follow the server's EventService: Prepare may be called again to
// add events (an event id already prepared is a no-op); a transaction to
// which nothing was prepared is neither committed nor aborted; if Commit
// fails the transaction is left as it is (ask Client::GetTransaction what
// became of it, or let it expire) and the destructor does not abort it.
//
// A Transaction is movable, not copyable, and not safe for concurrent use.
#ifndef WEBHOOKS_CLIENT_TRANSACTION_H_
#define WEBHOOKS_CLIENT_TRANSACTION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "webhooks/v1/event.pb.h"

namespace webhooks::client {

class Client;

struct TransactionOptions {
  // How long the transaction may stay prepared before it expires and never
  // delivers (the server caps it); zero for the server's default.
  absl::Duration ttl = absl::ZeroDuration();
  // Bounds the Abort() the destructor sends.
  absl::Duration abort_timeout = absl::Seconds(10);
};

// A random transaction id: "tx_" and 32 hex digits.
std::string NewTransactionId();

class Transaction {
 public:
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&& other) noexcept;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  // Aborts when prepared and neither committed nor aborted; errors are
  // dropped (call Abort() to see them).
  ~Transaction();

  const std::string& id() const { return id_; }

  // Prepares `events`: when OK they are stored durably and are delivered only
  // if the transaction commits. An empty list sends nothing.
  // FAILED_PRECONDITION after Commit() or Abort().
  absl::Status Prepare(const std::vector<::webhooks::v1::Event>& events);

  // Commits: the server creates the deliveries. OK without a call when
  // nothing was prepared. After it returns (whatever the status) the
  // destructor no longer aborts.
  absl::Status Commit();

  // Aborts now: nothing prepared is delivered. OK when nothing was prepared
  // or the server never stored the transaction (NOT_FOUND).
  absl::Status Abort();

  // The transaction as of the last Prepare() or Commit() (empty before).
  const ::webhooks::v1::Transaction& transaction() const {
    return transaction_;
  }
  // What each prepared event matched, in the order prepared.
  const std::vector<::webhooks::v1::EventResult>& event_results() const {
    return event_results_;
  }
  // Deliveries the commit created.
  int64_t deliveries_created() const { return deliveries_created_; }

 private:
  friend class Client;
  Transaction(const Client* client, std::string id, TransactionOptions options);

  const Client* client_;  // not owned; null once moved from
  std::string id_;
  TransactionOptions options_;
  bool prepared_ = false;  // a Prepare() may have reached the server
  bool resolved_ = false;  // Commit() or Abort() was sent
  ::webhooks::v1::Transaction transaction_;
  std::vector<::webhooks::v1::EventResult> event_results_;
  int64_t deliveries_created_ = 0;
};

}  // namespace webhooks::client

#endif  // WEBHOOKS_CLIENT_TRANSACTION_H_
