// The one key codec: order-preserving encodings of tuples, and the keys of
// every column built from them.
//
// A tuple encodes as the concatenation of its components:
//   string: bytes with 0x00 escaped as 0x00 0xff, then the terminator 0x00 0x01
//   uint64: 8 bytes big-endian
// so byte order of keys equals component-wise order of tuples, and a tuple
// prefix is a byte prefix of every longer tuple that starts with it.
//
//   std::string key = keys::SubscriptionSite("/NOAA/NWS", "user", "added", id);
//   std::string all_noaa = keys::SiteSubtreePrefix("/NOAA");  // ScanPrefix
#ifndef WEBHOOKS_STORAGE_KEY_CODEC_H_
#define WEBHOOKS_STORAGE_KEY_CODEC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace webhooks::storage {

// Appends components to a key.
class KeyBuilder {
 public:
  KeyBuilder& AddString(std::string_view s);
  KeyBuilder& AddUint64(uint64_t v);
  // Appends `s` escaped but not terminated: the prefix of every key whose
  // next string component begins with `s`.
  KeyBuilder& AddStringPrefix(std::string_view s);
  const std::string& key() const { return key_; }
  std::string Build() && { return std::move(key_); }

 private:
  std::string key_;
};

// Reads components back, in the order they were added. Each Read returns
// false (and leaves the reader unusable) when the key is malformed.
class KeyReader {
 public:
  // Reads `key` in place: it must outlive the reader. A temporary std::string
  // would not (stack-use-after-scope), so that does not compile.
  explicit KeyReader(std::string_view key) : rest_(key) {}
  template <typename S,
            typename = std::enable_if_t<std::is_same_v<S, std::string>>>
  explicit KeyReader(S&& key) = delete;
  bool ReadString(std::string* out);
  bool ReadUint64(uint64_t* out);
  // True when every byte has been read and no Read failed.
  bool done() const { return !failed_ && rest_.empty(); }

 private:
  bool Fail() {
    failed_ = true;
    return false;
  }

  std::string_view rest_;
  bool failed_ = false;
};

// The length of `key`'s first component when it is a string (its bytes,
// escapes and terminator), or 0 when the key has no complete one.
size_t FirstStringComponentLength(std::string_view key);

namespace keys {

// kSubscriptionsBySite. The site component is the normalized site with a
// trailing "/" ("/" stays "/"), so a site's subtree is one byte prefix.
std::string SubscriptionSite(std::string_view site,
                             std::string_view resource_type,
                             std::string_view event_type,
                             std::string_view subscription_id);
// Keys of subscriptions exactly in `site`.
std::string SiteExactPrefix(std::string_view site);
// Keys of subscriptions in `site` and every site below it.
std::string SiteSubtreePrefix(std::string_view site);
// Keys of subscriptions in `site` with this resource and event type.
std::string SiteTypesPrefix(std::string_view site,
                            std::string_view resource_type,
                            std::string_view event_type);

struct SubscriptionSiteKey {
  std::string site;  // normalized, without the trailing "/"
  std::string resource_type;
  std::string event_type;
  std::string subscription_id;
};
std::optional<SubscriptionSiteKey> ParseSubscriptionSite(std::string_view key);

// kSubscriptionsByOwner.
std::string SubscriptionOwner(std::string_view owner,
                              std::string_view subscription_id);
std::string OwnerPrefix(std::string_view owner);
// The subscription id of a SubscriptionOwner key.
std::optional<std::string> ParseSubscriptionOwner(std::string_view key);

// kTransactions: a transaction by its owner (the principal that prepared
// it) and id, since publishers choose ids and each has its own. An unowned
// transaction (stored before owners were recorded, or prepared in open
// mode) keys by its bare id, as it always did; an owned one by the tuple
// (owner, id). Ids never hold a 0x00 byte and tuples always do, so the two
// never collide. The other transaction columns take this key as their
// `transaction_key`.
std::string Transaction(std::string_view owner,
                        std::string_view transaction_id);
struct TransactionKey {
  std::string owner;  // empty: unowned
  std::string transaction_id;
};
std::optional<TransactionKey> ParseTransaction(std::string_view key);

// kTransactionEvents: the events of a transaction, by event id.
std::string TransactionEvent(std::string_view transaction_key,
                             std::string_view event_id);
std::string TransactionEventsPrefix(std::string_view transaction_key);

// kTransactionDeadlines: when the reaper must look at a transaction (expiry
// of a prepared one, end of retention of a resolved one), then its key.
std::string TransactionDeadline(uint64_t deadline_micros,
                                std::string_view transaction_key);
struct TransactionDeadlineKey {
  uint64_t deadline_micros;
  std::string transaction_id;  // the transaction's key (keys::Transaction)
};
std::optional<TransactionDeadlineKey> ParseTransactionDeadline(
    std::string_view key);

// kDeliveryQueue: due time in microseconds since the epoch, then delivery id.
std::string QueueEntry(uint64_t due_micros, std::string_view delivery_id);
struct QueueEntryKey {
  uint64_t due_micros;
  std::string delivery_id;
};
std::optional<QueueEntryKey> ParseQueueEntry(std::string_view key);

// kDeliveryOrder: the pending ordered deliveries of a subscription by
// ordering key, in their order (DeliveryRecord.order_seq).
std::string DeliveryOrder(std::string_view subscription_id,
                          std::string_view order_key, uint64_t seq);
// The keys of one subscription's ordering key, lowest sequence first.
std::string DeliveryOrderPrefix(std::string_view subscription_id,
                                std::string_view order_key);
// The sequence number of a DeliveryOrder key.
std::optional<uint64_t> ParseDeliveryOrderSeq(std::string_view key);

// kAttempts: a subscription's attempts, by slot in its ring (seq % keep;
// records stored before slots: by seq). core/attempt_log.h.
std::string Attempt(std::string_view subscription_id, uint64_t seq);
std::string AttemptsPrefix(std::string_view subscription_id);

}  // namespace keys
}  // namespace webhooks::storage

#endif  // WEBHOOKS_STORAGE_KEY_CODEC_H_
