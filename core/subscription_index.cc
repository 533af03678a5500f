#include "core/subscription_index.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/types/span.h"
#include "absl/functional/function_ref.h"
#include "absl/hash/hash.h"
#include "absl/synchronization/mutex.h"
#include "core/subscription_index_internal.h"

// Layout (see the header for the contract):
//  - Site, type, owner, permission and dialect strings are interned in a
//    reference-counted StringPool; entries hold 32-bit ids. A string is freed
//    with the last entry that uses it, so memory tracks the live set.
//  - Entries live in an EntrySlab; each owns one heap block holding its id
//    followed by its target URL.
//  - A bucket, keyed by (site, resource_type, event_type) ids, is a small
//    vector of slot numbers (inline up to 4); each entry records its position
//    for O(1) removal.
//  - The id -> entry map is a set of slot numbers hashed by the id text they
//    point at (heterogeneous look-up by string_view).
//  - Each site string carries a 64-bit mask of the (resource_type,
//    event_type) pairs it has buckets for; Match consults it before probing
//    the bucket table. Bits are cleared only when the site's last bucket
//    goes, so a stale bit costs one extra probe, never a wrong answer.
//  - Filters are few: a side map from slot to the compiled filter, looked
//    up only for entries whose has_filter bit is set.
//  - Match works in phases over all candidate sites at once (site ids, site
//    masks, bucket probes, entries, id text), prefetching what the next
//    phase reads, so a cold index overlaps its cache misses; then sorts each
//    site's hits by id with integer keys taken after the ids' common prefix.

namespace webhooks::core {
namespace {

using index_internal::EntrySlab;
using index_internal::HeapBytes;
using index_internal::kNone;
using index_internal::StringPool;
using index_internal::TableBytes;

inline void Prefetch(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p);
#endif
}

uint64_t MaskBit(uint32_t rtype, uint32_t etype) {
  const uint32_t mixed = (rtype * 0x9E3779B1u) ^ (etype * 0x85EBCA77u);
  return uint64_t{1} << ((mixed * 0xC2B2AE3Du) >> 26);
}

// Hash and equality for the id set: a slot compares as the id it holds.
struct IdHash {
  using is_transparent = void;
  const EntrySlab* slab;
  size_t operator()(std::string_view id) const {
    return absl::Hash<std::string_view>()(id);
  }
  size_t operator()(uint32_t slot) const { return (*this)(slab->Id(slot)); }
};
struct IdEq {
  using is_transparent = void;
  const EntrySlab* slab;
  std::string_view View(std::string_view id) const { return id; }
  std::string_view View(uint32_t slot) const { return slab->Id(slot); }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return View(a) == View(b);
  }
};
using IdSet = absl::flat_hash_set<uint32_t, IdHash, IdEq>;

struct BucketKey {
  uint32_t site, resource_type, event_type;
  bool operator==(const BucketKey& o) const {
    return site == o.site && resource_type == o.resource_type &&
           event_type == o.event_type;
  }
  template <typename H>
  friend H AbslHashValue(H h, const BucketKey& k) {
    return H::combine(std::move(h), k.site, k.resource_type, k.event_type);
  }
};
// Up to kInlineSlots slots live in the table slot itself (no allocation,
// no extra cache miss); most buckets are that small.
constexpr size_t kInlineSlots = 4;
using Bucket = absl::InlinedVector<uint32_t, kInlineSlots>;
using BucketMap = absl::flat_hash_map<BucketKey, Bucket>;
using FilterMap = absl::flat_hash_map<uint32_t, PayloadFilterPtr>;

// Heap bytes a bucket holds outside the table.
size_t BucketHeapBytes(const Bucket& bucket) {
  return bucket.capacity() > kInlineSlots
             ? HeapBytes(bucket.capacity() * sizeof(uint32_t))
             : 0;
}

// Appends `id` unless it is kNone or already present.
template <typename V>
void AddUnique(V& ids, uint32_t id) {
  if (id != kNone && std::find(ids.begin(), ids.end(), id) == ids.end()) {
    ids.push_back(id);
  }
}

struct Hit {
  uint64_t key;  // 8 id bytes after the common prefix, big-endian
  const char* id;
  uint32_t id_len;
  uint32_t slot;
};

// Sorts hits by id. Ids of one index tend to share a prefix ("sub_" and a
// time), so the integer key starts after the prefix common to all of them;
// equal keys fall back to comparing the whole ids.
template <typename V>
void SortById(V& hits) {
  if (hits.size() < 2) return;
  const std::string_view first(hits[0].id, hits[0].id_len);
  size_t common = first.size();
  for (size_t h = 1; h < hits.size() && common > 0; ++h) {
    const size_t limit = std::min<size_t>(common, hits[h].id_len);
    size_t i = 0;
    while (i < limit && hits[h].id[i] == first[i]) ++i;
    common = i;
  }
  for (Hit& hit : hits) {
    uint64_t key = 0;
    for (size_t i = common; i < common + 8; ++i) {
      key = (key << 8) |
            (i < hit.id_len ? static_cast<unsigned char>(hit.id[i]) : 0u);
    }
    hit.key = key;
  }
  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
    if (a.key != b.key) return a.key < b.key;
    return std::string_view(a.id, a.id_len) < std::string_view(b.id, b.id_len);
  });
}

}  // namespace

class SubscriptionIndex::Impl {
 public:
  Impl() : ids_(0, IdHash{&slab_}, IdEq{&slab_}) {}

  void Upsert(const IndexEntry& in) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    // Take the new references before dropping the old ones, so strings both
    // versions use are not freed and re-interned.
    const uint32_t site = pool_.Acquire(in.site);
    const uint32_t rtype = pool_.Acquire(in.resource_type);
    const uint32_t etype = pool_.Acquire(in.event_type);
    const uint32_t owner = pool_.Acquire(in.owner);
    const uint32_t permission = pool_.Acquire(in.permission);
    const uint32_t dialect = pool_.Acquire(in.dialect);
    uint32_t slot;
    bool linked = false;
    auto it = ids_.find(std::string_view(in.id));
    if (it != ids_.end()) {
      slot = *it;
      const index_internal::Entry& old = slab_.at(slot);
      linked = old.site == site && old.resource_type == rtype &&
               old.event_type == etype;
      if (!linked) Unlink(slot);
      ReleaseStrings(old);
      if (old.target_url() != in.target_url) {
        slab_.SetText(slot, in.id, in.target_url);  // same id: set unchanged
      }
    } else {
      slot = slab_.Allocate();
      slab_.SetText(slot, in.id, in.target_url);
      ids_.insert(slot);
    }
    index_internal::Entry& e = slab_.at(slot);
    e.active = in.active ? 1 : 0;
    e.has_filter = in.filter != nullptr ? 1 : 0;
    if (in.filter != nullptr) {
      filters_[slot] = in.filter;
    } else {
      filters_.erase(slot);
    }
    e.site = site;
    e.resource_type = rtype;
    e.event_type = etype;
    e.owner = owner;
    e.permission = permission;
    e.dialect = dialect;
    if (!linked) Link(slot);
  }

  void Remove(std::string_view id) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto it = ids_.find(id);
    if (it == ids_.end()) return;
    const uint32_t slot = *it;
    ids_.erase(it);
    Unlink(slot);
    filters_.erase(slot);
    ReleaseStrings(slab_.at(slot));
    slab_.Free(slot);
  }

  void Clear() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    ids_ = IdSet(0, IdHash{&slab_}, IdEq{&slab_});
    buckets_ = BucketMap();
    bucket_bytes_ = 0;
    filters_ = FilterMap();
    slab_ = EntrySlab();
    pool_ = StringPool();
  }

  void Match(const MatchQuery& query,
             absl::FunctionRef<void(const SubscriptionView&)> visitor) const
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::ReaderMutexLock lock(&mu_);
    const uint32_t star = pool_.Find("*");
    absl::InlinedVector<uint32_t, 8> rtypes;
    absl::InlinedVector<uint32_t, 8> etypes;
    for (const std::string& t : query.resource_types) {
      AddUnique(rtypes, pool_.Find(t));
    }
    AddUnique(rtypes, star);
    for (const std::string& t : query.event_types) {
      AddUnique(etypes, pool_.Find(t));
    }
    AddUnique(etypes, star);
    if (rtypes.empty() || etypes.empty()) return;

    // In phases, each starting the memory loads of the next for every site
    // at once, so that a cold index waits for its cache misses together
    // rather than one after another.
    for (const std::string& site_text : query.sites) pool_.Prefetch(site_text);
    absl::InlinedVector<uint32_t, 16> seen_sites;
    for (const std::string& site_text : query.sites) {
      const uint32_t site = pool_.Find(site_text);
      if (site == kNone) continue;
      if (std::find(seen_sites.begin(), seen_sites.end(), site) !=
          seen_sites.end()) {
        continue;
      }
      seen_sites.push_back(site);
      Prefetch(&pool_.slot(site));
    }
    absl::InlinedVector<BucketKey, 64> probes;
    absl::InlinedVector<uint32_t, 16> probes_end;  // per site, in probes
    for (uint32_t site : seen_sites) {
      const StringPool::Slot& info = pool_.slot(site);
      if (info.site_buckets != 0) {
        for (uint32_t r : rtypes) {
          for (uint32_t e : etypes) {
            if ((info.site_mask & MaskBit(r, e)) == 0) continue;
            probes.push_back(BucketKey{site, r, e});
            buckets_.prefetch(probes.back());
          }
        }
      }
      probes_end.push_back(static_cast<uint32_t>(probes.size()));
    }
    absl::InlinedVector<uint32_t, 64> slots;
    absl::InlinedVector<uint32_t, 16> slots_end;  // per site, in slots
    size_t probe = 0;
    for (size_t i = 0; i < seen_sites.size(); ++i) {
      for (; probe < probes_end[i]; ++probe) {
        auto it = buckets_.find(probes[probe]);
        if (it == buckets_.end()) continue;
        for (uint32_t s : it->second) {
          Prefetch(&slab_.at(s));
          slots.push_back(s);
        }
      }
      slots_end.push_back(static_cast<uint32_t>(slots.size()));
    }
    absl::InlinedVector<Hit, 64> hits;
    absl::InlinedVector<uint32_t, 16> hits_end;  // per site, in hits
    size_t slot = 0;
    for (size_t i = 0; i < seen_sites.size(); ++i) {
      for (; slot < slots_end[i]; ++slot) {
        const index_internal::Entry& entry = slab_.at(slots[slot]);
        if (!query.include_inactive && !entry.active) continue;
        Prefetch(entry.text.get());
        Prefetch(&pool_.slot(entry.owner));
        hits.push_back(Hit{0, entry.text.get(), entry.id_len, slots[slot]});
      }
      hits_end.push_back(static_cast<uint32_t>(hits.size()));
    }
    // The visitor reads the owner's text (the other strings are few and
    // shared, so they are warm).
    for (const Hit& hit : hits) {
      Prefetch(pool_.slot(slab_.at(hit.slot).owner).data.get());
    }
    size_t begin = 0;
    for (size_t i = 0; i < seen_sites.size(); ++i) {
      absl::Span<Hit> site_hits(hits.data() + begin, hits_end[i] - begin);
      SortById(site_hits);
      for (const Hit& hit : site_hits) visitor(View(hit.slot));
      begin = hits_end[i];
    }
  }

  size_t size() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::ReaderMutexLock lock(&mu_);
    return ids_.size();
  }

  void ForEachId(absl::FunctionRef<void(std::string_view)> visitor) const
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::ReaderMutexLock lock(&mu_);
    for (uint32_t slot : ids_) visitor(slab_.at(slot).id());
  }

  std::optional<IndexEntry> Find(std::string_view id) const
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::ReaderMutexLock lock(&mu_);
    auto it = ids_.find(id);
    if (it == ids_.end()) return std::nullopt;
    const index_internal::Entry& e = slab_.at(*it);
    IndexEntry out;
    out.id = std::string(e.id());
    out.site = std::string(pool_.Get(e.site));
    out.resource_type = std::string(pool_.Get(e.resource_type));
    out.event_type = std::string(pool_.Get(e.event_type));
    out.owner = std::string(pool_.Get(e.owner));
    out.permission = std::string(pool_.Get(e.permission));
    out.target_url = std::string(e.target_url());
    out.dialect = std::string(pool_.Get(e.dialect));
    out.active = e.active != 0;
    if (e.has_filter) out.filter = filters_.at(*it);
    return out;
  }

  size_t MemoryUsage() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::ReaderMutexLock lock(&mu_);
    return sizeof(*this) + pool_.MemoryUsage() + slab_.MemoryUsage() +
           TableBytes(ids_.capacity(), sizeof(uint32_t)) +
           TableBytes(buckets_.capacity(), sizeof(BucketMap::value_type)) +
           TableBytes(filters_.capacity(), sizeof(FilterMap::value_type)) +
           bucket_bytes_;
  }

 private:
  SubscriptionView View(uint32_t slot) const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    const index_internal::Entry& e = slab_.at(slot);
    return SubscriptionView{
        .id = e.id(),
        .site = pool_.Get(e.site),
        .resource_type = pool_.Get(e.resource_type),
        .event_type = pool_.Get(e.event_type),
        .owner = pool_.Get(e.owner),
        .permission = pool_.Get(e.permission),
        .target_url = e.target_url(),
        .dialect = pool_.Get(e.dialect),
        .active = e.active != 0,
        .filter = e.has_filter ? &filters_.at(slot) : nullptr,
    };
  }

  // Appends the entry to its bucket, creating the bucket if needed.
  void Link(uint32_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    index_internal::Entry& e = slab_.at(slot);
    auto [it, inserted] = buckets_.try_emplace(
        BucketKey{e.site, e.resource_type, e.event_type});
    Bucket& bucket = it->second;
    const size_t old_bytes = BucketHeapBytes(bucket);
    e.pos = static_cast<uint32_t>(bucket.size());
    bucket.push_back(slot);
    bucket_bytes_ += BucketHeapBytes(bucket);
    bucket_bytes_ -= old_bytes;
    if (inserted) {
      StringPool::Slot& info = pool_.slot(e.site);
      ++info.site_buckets;
      info.site_mask |= MaskBit(e.resource_type, e.event_type);
    }
  }

  // Takes the entry out of its bucket, dropping the bucket when empty.
  void Unlink(uint32_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    index_internal::Entry& e = slab_.at(slot);
    auto it = buckets_.find(BucketKey{e.site, e.resource_type, e.event_type});
    Bucket& bucket = it->second;
    const size_t old_bytes = BucketHeapBytes(bucket);
    const uint32_t moved = bucket.back();
    bucket[e.pos] = moved;
    slab_.at(moved).pos = e.pos;
    bucket.pop_back();
    e.pos = kNone;
    bucket_bytes_ -= old_bytes;
    if (bucket.empty()) {
      buckets_.erase(it);
      StringPool::Slot& info = pool_.slot(e.site);
      if (--info.site_buckets == 0) info.site_mask = 0;
      return;
    }
    if (bucket.capacity() > 4 * bucket.size()) bucket.shrink_to_fit();
    bucket_bytes_ += BucketHeapBytes(bucket);
  }

  void ReleaseStrings(const index_internal::Entry& e)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    pool_.Release(e.site);
    pool_.Release(e.resource_type);
    pool_.Release(e.event_type);
    pool_.Release(e.owner);
    pool_.Release(e.permission);
    pool_.Release(e.dialect);
  }

  mutable absl::Mutex mu_;
  StringPool pool_ ABSL_GUARDED_BY(mu_);
  EntrySlab slab_ ABSL_GUARDED_BY(mu_);
  IdSet ids_ ABSL_GUARDED_BY(mu_);  // hashes through slab_
  BucketMap buckets_ ABSL_GUARDED_BY(mu_);
  size_t bucket_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // heap of bucket vectors
  FilterMap filters_ ABSL_GUARDED_BY(mu_);  // slot -> filter, when it has one
};

SubscriptionIndex::SubscriptionIndex() : impl_(std::make_unique<Impl>()) {}
SubscriptionIndex::~SubscriptionIndex() = default;

void SubscriptionIndex::Upsert(const IndexEntry& entry) {
  impl_->Upsert(entry);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}
void SubscriptionIndex::Remove(std::string_view id) {
  impl_->Remove(id);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}
void SubscriptionIndex::Clear() {
  impl_->Clear();
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

void SubscriptionIndex::Match(
    const MatchQuery& query,
    absl::FunctionRef<void(const SubscriptionView&)> visitor) const {
  impl_->Match(query, visitor);
}

size_t SubscriptionIndex::size() const { return impl_->size(); }
std::optional<IndexEntry> SubscriptionIndex::Find(std::string_view id) const {
  return impl_->Find(id);
}
void SubscriptionIndex::ForEachId(
    absl::FunctionRef<void(std::string_view)> visitor) const {
  impl_->ForEachId(visitor);
}
size_t SubscriptionIndex::MemoryUsage() const { return impl_->MemoryUsage(); }

}  // namespace webhooks::core
