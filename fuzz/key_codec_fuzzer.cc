// The key codec on arbitrary bytes (keys read back from a store that may be
// damaged): every parser either refuses the key or returns components that
// encode back to exactly the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "storage/key_codec.h"

namespace keys = webhooks::storage::keys;
using webhooks::storage::KeyBuilder;
using webhooks::storage::KeyReader;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view key(reinterpret_cast<const char*>(data), size);

  // A tuple of strings and integers in the order the first byte says.
  if (!key.empty()) {
    const uint8_t shape = static_cast<uint8_t>(key[0]);
    const std::string_view rest = key.substr(1);
    KeyReader reader(rest);
    KeyBuilder rebuilt;
    bool ok = true;
    for (int i = 0; i < 8 && ok && !reader.done(); ++i) {
      if (shape & (1u << i)) {
        uint64_t v = 0;
        ok = reader.ReadUint64(&v);
        if (ok) rebuilt.AddUint64(v);
      } else {
        std::string s;
        ok = reader.ReadString(&s);
        if (ok) rebuilt.AddString(s);
      }
    }
    if (ok) {
      FUZZ_CHECK(rest.substr(0, rebuilt.key().size()) == rebuilt.key());
      if (reader.done()) FUZZ_CHECK(rebuilt.key() == rest);
    } else {
      FUZZ_CHECK(!reader.done());
    }
  }

  if (auto site = keys::ParseSubscriptionSite(key)) {
    FUZZ_CHECK(keys::SubscriptionSite(site->site, site->resource_type,
                                      site->event_type,
                                      site->subscription_id) == key);
  }
  if (auto id = keys::ParseSubscriptionOwner(key)) {
    // The owner is not returned; the key must end in the id's encoding.
    KeyBuilder id_key;
    const std::string& tail = id_key.AddString(*id).key();
    FUZZ_CHECK(key.size() >= tail.size() &&
               key.substr(key.size() - tail.size()) == tail);
  }
  if (auto txn = keys::ParseTransaction(key)) {
    FUZZ_CHECK(keys::Transaction(txn->owner, txn->transaction_id) == key);
  }
  if (auto deadline = keys::ParseTransactionDeadline(key)) {
    FUZZ_CHECK(keys::TransactionDeadline(deadline->deadline_micros,
                                         deadline->transaction_id) == key);
  }
  if (auto entry = keys::ParseQueueEntry(key)) {
    FUZZ_CHECK(keys::QueueEntry(entry->due_micros, entry->delivery_id) == key);
  }
  return 0;
}
