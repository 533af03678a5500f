// Storage pieces of SubscriptionIndex (subscription_index.cc). Internal: not
// thread-safe on their own; the index's mutex guards them.
//
//   StringPool pool;
//   uint32_t id = pool.Acquire("/NOAA");   // interned, refs = 1
//   pool.Get(id) == "/NOAA"; pool.Release(id);  // freed with its last ref
//
//   EntrySlab slab;
//   uint32_t slot = slab.Allocate();
//   slab.SetText(slot, "sub_1", "https://a/");  slab.Id(slot) == "sub_1"
#ifndef WEBHOOKS_CORE_SUBSCRIPTION_INDEX_INTERNAL_H_
#define WEBHOOKS_CORE_SUBSCRIPTION_INDEX_INTERNAL_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace webhooks::core::index_internal {

inline constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

// Approximate bytes glibc malloc takes for an n-byte request (8-byte header,
// 16-byte granularity, 32-byte minimum); 0 for no request.
inline size_t HeapBytes(size_t n) {
  if (n == 0) return 0;
  return std::max<size_t>((n + 8 + 15) & ~size_t{15}, 32);
}

// Approximate heap bytes of an Abseil Swiss table: a control byte and a slot
// per capacity unit, plus a group of cloned control bytes.
inline size_t TableBytes(size_t capacity, size_t slot_size) {
  if (capacity == 0) return 0;
  return HeapBytes(capacity * (slot_size + 1) + 16);
}

// Reference-counted interned strings with 32-bit ids; a freed id is reused.
// Views returned by Get() stay valid until the string's last Release().
class StringPool {
 public:
  struct Slot {
    std::unique_ptr<char[]> data;  // null for the empty string
    uint32_t size = 0;
    uint32_t refs = 0;  // 0: free
    // Used when the string is a site: how many buckets it has, and a mask
    // of the (resource_type, event_type) pairs they hold (see MaskBit).
    uint32_t site_buckets = 0;
    uint64_t site_mask = 0;
  };

  // Starts loading the table slot Find(s) will look at.
  void Prefetch(std::string_view s) const { ids_.prefetch(s); }

  // The id of `s`, or kNone.
  uint32_t Find(std::string_view s) const {
    auto it = ids_.find(s);
    return it == ids_.end() ? kNone : it->second;
  }

  // The id of `s`, interning it when new; adds a reference.
  uint32_t Acquire(std::string_view s) {
    auto it = ids_.find(s);
    if (it != ids_.end()) {
      ++slots_[it->second].refs;
      return it->second;
    }
    uint32_t id;
    if (free_.empty()) {
      id = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    } else {
      id = free_.back();
      free_.pop_back();
    }
    Slot& slot = slots_[id];
    if (!s.empty()) {
      slot.data = std::make_unique<char[]>(s.size());
      std::copy(s.begin(), s.end(), slot.data.get());
    }
    slot.size = static_cast<uint32_t>(s.size());
    slot.refs = 1;
    string_bytes_ += HeapBytes(s.size());
    ids_.emplace(Get(id), id);
    return id;
  }

  // Drops a reference; frees the string with its last one.
  void Release(uint32_t id) {
    Slot& slot = slots_[id];
    if (--slot.refs > 0) return;
    ids_.erase(Get(id));
    string_bytes_ -= HeapBytes(slot.size);
    slot = Slot();
    free_.push_back(id);
  }

  std::string_view Get(uint32_t id) const {
    const Slot& slot = slots_[id];
    return std::string_view(slot.data.get(), slot.size);
  }
  Slot& slot(uint32_t id) { return slots_[id]; }
  const Slot& slot(uint32_t id) const { return slots_[id]; }

  size_t MemoryUsage() const {
    return HeapBytes(slots_.capacity() * sizeof(Slot)) +
           HeapBytes(free_.capacity() * sizeof(uint32_t)) +
           TableBytes(ids_.capacity(),
                      sizeof(std::pair<const std::string_view, uint32_t>)) +
           string_bytes_;
  }

 private:
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  absl::flat_hash_map<std::string_view, uint32_t> ids_;  // views into slots_
  size_t string_bytes_ = 0;
};

// One subscription. Strings other than the id and URL are StringPool ids.
struct Entry {
  std::unique_ptr<char[]> text;  // id then target_url; null when free
  uint32_t id_len : 30 = 0;
  uint32_t active : 1 = 0;
  uint32_t has_filter : 1 = 0;  // SubscriptionIndex's filter map holds one
  uint32_t url_len = 0;
  uint32_t site = 0, resource_type = 0, event_type = 0;
  uint32_t owner = 0, permission = 0, dialect = 0;
  uint32_t pos = kNone;  // index in its bucket; when free, the next free slot

  std::string_view id() const { return std::string_view(text.get(), id_len); }
  std::string_view target_url() const {
    return std::string_view(text.get() + id_len, url_len);
  }
};

// Entries in fixed-size chunks (stable addresses, no 2x growth spikes),
// addressed by 32-bit slot numbers and recycled through a free list.
class EntrySlab {
 public:
  static constexpr uint32_t kChunkBits = 10;
  static constexpr uint32_t kChunkSize = 1u << kChunkBits;

  Entry& at(uint32_t slot) {
    return chunks_[slot >> kChunkBits][slot & (kChunkSize - 1)];
  }
  const Entry& at(uint32_t slot) const {
    return chunks_[slot >> kChunkBits][slot & (kChunkSize - 1)];
  }
  std::string_view Id(uint32_t slot) const { return at(slot).id(); }

  // A cleared entry's slot.
  uint32_t Allocate() {
    if (free_head_ != kNone) {
      const uint32_t slot = free_head_;
      free_head_ = at(slot).pos;
      at(slot).pos = kNone;
      return slot;
    }
    if (used_ == chunks_.size() * kChunkSize) {
      chunks_.push_back(std::make_unique<Entry[]>(kChunkSize));
    }
    return used_++;
  }

  // Replaces the entry's id and URL text (one allocation for both).
  void SetText(uint32_t slot, std::string_view id, std::string_view url) {
    Entry& e = at(slot);
    if (e.text) text_bytes_ -= HeapBytes(e.id_len + e.url_len);
    e.text = std::make_unique<char[]>(id.size() + url.size());
    std::copy(id.begin(), id.end(), e.text.get());
    std::copy(url.begin(), url.end(), e.text.get() + id.size());
    e.id_len = static_cast<uint32_t>(id.size()) & 0x3fffffffu;
    e.url_len = static_cast<uint32_t>(url.size());
    text_bytes_ += HeapBytes(id.size() + url.size());
  }

  // Clears the entry and puts its slot on the free list.
  void Free(uint32_t slot) {
    Entry& e = at(slot);
    if (e.text) text_bytes_ -= HeapBytes(e.id_len + e.url_len);
    e = Entry();
    e.pos = free_head_;
    free_head_ = slot;
  }

  size_t MemoryUsage() const {
    return chunks_.size() * HeapBytes(kChunkSize * sizeof(Entry)) +
           HeapBytes(chunks_.capacity() * sizeof(chunks_[0])) + text_bytes_;
  }

 private:
  std::vector<std::unique_ptr<Entry[]>> chunks_;
  uint32_t used_ = 0;
  uint32_t free_head_ = kNone;
  size_t text_bytes_ = 0;
};

}  // namespace webhooks::core::index_internal

#endif  // WEBHOOKS_CORE_SUBSCRIPTION_INDEX_INTERNAL_H_
