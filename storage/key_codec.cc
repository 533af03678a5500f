#include "storage/key_codec.h"

namespace webhooks::storage {
namespace {

constexpr char kEscape = '\x00';
constexpr char kEscapedZero = '\xff';
constexpr char kTerminator = '\x01';

// The site component of kSubscriptionsBySite keys: `site` with a trailing
// "/", except the root "/" which is already one. `site` is normalized (no
// trailing "/" unless it is the root).
std::string SiteComponent(std::string_view site) {
  std::string component(site);
  if (site != "/") component.push_back('/');
  return component;
}

}  // namespace

KeyBuilder& KeyBuilder::AddString(std::string_view s) {
  AddStringPrefix(s);
  key_.push_back(kEscape);
  key_.push_back(kTerminator);
  return *this;
}

size_t FirstStringComponentLength(std::string_view key) {
  // An escaped 0x00 is 0x00 0xff: the first 0x00 followed by the terminator
  // ends the component.
  for (size_t at = key.find(kEscape); at != std::string_view::npos &&
                                      at + 1 < key.size();
       at = key.find(kEscape, at + 2)) {
    if (key[at + 1] == kTerminator) return at + 2;
    if (key[at + 1] != kEscapedZero) return 0;
  }
  return 0;
}

KeyBuilder& KeyBuilder::AddUint64(uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    key_.push_back(static_cast<char>((v >> shift) & 0xff));
  }
  return *this;
}

KeyBuilder& KeyBuilder::AddStringPrefix(std::string_view s) {
  key_.reserve(key_.size() + s.size() + 2);
  for (char c : s) {
    key_.push_back(c);
    if (c == kEscape) key_.push_back(kEscapedZero);
  }
  return *this;
}

bool KeyReader::ReadString(std::string* out) {
  if (failed_) return false;
  const size_t length = FirstStringComponentLength(rest_);
  if (length == 0) return Fail();  // No terminator, or a bad escape.
  // Inside the component every 0x00 is followed by 0xff: drop the 0xff.
  const std::string_view escaped = rest_.substr(0, length - 2);
  std::string value;
  value.reserve(escaped.size());
  for (size_t i = 0; i < escaped.size(); ++i) {
    value.push_back(escaped[i]);
    if (escaped[i] == kEscape) ++i;
  }
  rest_.remove_prefix(length);
  *out = std::move(value);
  return true;
}

bool KeyReader::ReadUint64(uint64_t* out) {
  if (failed_ || rest_.size() < 8) return Fail();
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<unsigned char>(rest_[i]);
  }
  rest_.remove_prefix(8);
  *out = v;
  return true;
}

namespace keys {

std::string SubscriptionSite(std::string_view site,
                             std::string_view resource_type,
                             std::string_view event_type,
                             std::string_view subscription_id) {
  KeyBuilder builder;
  builder.AddString(SiteComponent(site))
      .AddString(resource_type)
      .AddString(event_type)
      .AddString(subscription_id);
  return std::move(builder).Build();
}

std::string SiteExactPrefix(std::string_view site) {
  KeyBuilder builder;
  builder.AddString(SiteComponent(site));
  return std::move(builder).Build();
}

std::string SiteSubtreePrefix(std::string_view site) {
  KeyBuilder builder;
  builder.AddStringPrefix(SiteComponent(site));
  return std::move(builder).Build();
}

std::string SiteTypesPrefix(std::string_view site,
                            std::string_view resource_type,
                            std::string_view event_type) {
  KeyBuilder builder;
  builder.AddString(SiteComponent(site))
      .AddString(resource_type)
      .AddString(event_type);
  return std::move(builder).Build();
}

std::optional<SubscriptionSiteKey> ParseSubscriptionSite(std::string_view key) {
  KeyReader reader(key);
  SubscriptionSiteKey parsed;
  if (!reader.ReadString(&parsed.site) ||
      !reader.ReadString(&parsed.resource_type) ||
      !reader.ReadString(&parsed.event_type) ||
      !reader.ReadString(&parsed.subscription_id) || !reader.done()) {
    return std::nullopt;
  }
  // The component is "/" or "/<site>/" with <site> not ending in '/': what
  // SiteComponent writes, so a parsed key encodes back to the same bytes
  // ("//" would otherwise read as the root's key).
  if (parsed.site.empty() || parsed.site.back() != '/') return std::nullopt;
  if (parsed.site != "/") {
    parsed.site.pop_back();
    if (parsed.site.front() != '/' || parsed.site.back() == '/') {
      return std::nullopt;
    }
  }
  return parsed;
}

std::string SubscriptionOwner(std::string_view owner,
                              std::string_view subscription_id) {
  KeyBuilder builder;
  builder.AddString(owner).AddString(subscription_id);
  return std::move(builder).Build();
}

std::string OwnerPrefix(std::string_view owner) {
  KeyBuilder builder;
  builder.AddString(owner);
  return std::move(builder).Build();
}

std::optional<std::string> ParseSubscriptionOwner(std::string_view key) {
  KeyReader reader(key);
  std::string owner;
  std::string subscription_id;
  if (!reader.ReadString(&owner) || !reader.ReadString(&subscription_id) ||
      !reader.done()) {
    return std::nullopt;
  }
  return subscription_id;
}

std::string Transaction(std::string_view owner,
                        std::string_view transaction_id) {
  if (owner.empty()) return std::string(transaction_id);
  KeyBuilder builder;
  builder.AddString(owner).AddString(transaction_id);
  return std::move(builder).Build();
}

std::optional<TransactionKey> ParseTransaction(std::string_view key) {
  TransactionKey parsed;
  if (key.find('\0') == std::string_view::npos) {
    if (key.empty()) return std::nullopt;
    parsed.transaction_id = std::string(key);
    return parsed;
  }
  KeyReader reader(key);
  if (!reader.ReadString(&parsed.owner) ||
      !reader.ReadString(&parsed.transaction_id) || !reader.done() ||
      parsed.owner.empty()) {
    return std::nullopt;
  }
  return parsed;
}

std::string TransactionEvent(std::string_view transaction_key,
                             std::string_view event_id) {
  KeyBuilder builder;
  builder.AddString(transaction_key).AddString(event_id);
  return std::move(builder).Build();
}

std::string TransactionDeadline(uint64_t deadline_micros,
                                std::string_view transaction_key) {
  KeyBuilder builder;
  builder.AddUint64(deadline_micros).AddString(transaction_key);
  return std::move(builder).Build();
}

std::optional<TransactionDeadlineKey> ParseTransactionDeadline(
    std::string_view key) {
  KeyReader reader(key);
  TransactionDeadlineKey parsed;
  if (!reader.ReadUint64(&parsed.deadline_micros) ||
      !reader.ReadString(&parsed.transaction_id) || !reader.done()) {
    return std::nullopt;
  }
  return parsed;
}

std::string TransactionEventsPrefix(std::string_view transaction_key) {
  KeyBuilder builder;
  builder.AddString(transaction_key);
  return std::move(builder).Build();
}

std::string QueueEntry(uint64_t due_micros, std::string_view delivery_id) {
  KeyBuilder builder;
  builder.AddUint64(due_micros).AddString(delivery_id);
  return std::move(builder).Build();
}

std::optional<QueueEntryKey> ParseQueueEntry(std::string_view key) {
  KeyReader reader(key);
  QueueEntryKey parsed;
  if (!reader.ReadUint64(&parsed.due_micros) ||
      !reader.ReadString(&parsed.delivery_id) || !reader.done()) {
    return std::nullopt;
  }
  return parsed;
}

std::string DeliveryOrder(std::string_view subscription_id,
                          std::string_view order_key, uint64_t seq) {
  KeyBuilder builder;
  builder.AddString(subscription_id).AddString(order_key).AddUint64(seq);
  return std::move(builder).Build();
}

std::string DeliveryOrderPrefix(std::string_view subscription_id,
                                std::string_view order_key) {
  KeyBuilder builder;
  builder.AddString(subscription_id).AddString(order_key);
  return std::move(builder).Build();
}

std::optional<uint64_t> ParseDeliveryOrderSeq(std::string_view key) {
  KeyReader reader(key);
  std::string subscription_id, order_key;
  uint64_t seq = 0;
  if (!reader.ReadString(&subscription_id) || !reader.ReadString(&order_key) ||
      !reader.ReadUint64(&seq) || !reader.done()) {
    return std::nullopt;
  }
  return seq;
}

std::string Attempt(std::string_view subscription_id, uint64_t seq) {
  KeyBuilder builder;
  builder.AddString(subscription_id).AddUint64(seq);
  return std::move(builder).Build();
}

std::string AttemptsPrefix(std::string_view subscription_id) {
  KeyBuilder builder;
  builder.AddString(subscription_id);
  return std::move(builder).Build();
}

}  // namespace keys
}  // namespace webhooks::storage
