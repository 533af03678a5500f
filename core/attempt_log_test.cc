// AttemptLog: the ring in storage (one slot per kept attempt, overwritten
// in turn), reading records stored under their seq before slots, a
// smaller `keep`, listing newest first across pages, Get, and request
// headers read back from old and new records.
#include "core/attempt_log.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/page_token.h"
#include "gtest/gtest.h"
#include "storage/key_codec.h"
#include "storage/memory_store.h"

namespace webhooks::core {
namespace {

using storage::Column;

AttemptRecord Resolved(std::string id, bool ok = true) {
  AttemptRecord attempt;
  attempt.set_id(std::move(id));
  attempt.set_subscription_id("sub");
  attempt.set_status(ok ? AttemptRecord::SUCCESSFUL : AttemptRecord::FAILED);
  return attempt;
}

class AttemptLogTest : public ::testing::Test {
 protected:
  // Appends attempts named prefix0, prefix1, ... in one write each.
  void Append(AttemptLog& log, const std::string& prefix, int count,
              int first = 0) {
    for (int i = first; i < first + count; ++i) {
      AttemptRecord attempt = Resolved(absl::StrCat(prefix, i), i % 3 != 2);
      storage::WriteBatch batch;
      ASSERT_TRUE(log.StageAppend(attempt, batch).ok());
      ASSERT_TRUE(store_.Write(batch).ok());
    }
  }
  // The numbers in the stored keys, in key order.
  std::vector<uint64_t> StoredKeys() {
    std::vector<uint64_t> numbers;
    EXPECT_TRUE(store_
                    .ScanPrefix(Column::kAttempts,
                                storage::keys::AttemptsPrefix("sub"),
                                [&](std::string_view key, std::string_view) {
                                  storage::KeyReader reader(key);
                                  std::string sub;
                                  uint64_t n = 0;
                                  EXPECT_TRUE(reader.ReadString(&sub));
                                  EXPECT_TRUE(reader.ReadUint64(&n));
                                  numbers.push_back(n);
                                  return true;
                                })
                    .ok());
    return numbers;
  }
  // Every attempt, newest first, walking pages of `page_size`.
  std::vector<std::string> ListIds(const AttemptLog& log, int page_size,
                                   std::optional<AttemptRecord::Status> status =
                                       std::nullopt) {
    std::vector<std::string> ids;
    std::string token;
    for (int pages = 0; pages < 100; ++pages) {
      absl::StatusOr<AttemptPage> page =
          log.List("sub", status, page_size, token);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      EXPECT_LE(page->attempts.size(), static_cast<size_t>(page_size));
      for (const AttemptRecord& a : page->attempts) ids.push_back(a.id());
      token = page->next_page_token;
      if (token.empty()) break;
    }
    return ids;
  }

  storage::MemoryStore store_;
  Limits limits_;
};

TEST_F(AttemptLogTest, AFullRingOverwritesItsSlotsWithoutDeleting) {
  AttemptLog log(&store_, 4, limits_);
  Append(log, "a", 4);
  EXPECT_EQ(StoredKeys(), (std::vector<uint64_t>{0, 1, 2, 3}));
  // Past the ring's size: each append is one put into the oldest's slot.
  AttemptRecord attempt = Resolved("a4");
  storage::WriteBatch batch;
  ASSERT_TRUE(log.StageAppend(attempt, batch).ok());
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch.op(0).type, storage::WriteBatch::OpType::kPut);
  EXPECT_EQ(batch.op(0).key, storage::keys::Attempt("sub", 0));
  EXPECT_EQ(attempt.seq(), 4u);
  ASSERT_TRUE(store_.Write(batch).ok());
  Append(log, "a", 6, 5);
  EXPECT_EQ(StoredKeys(), (std::vector<uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(ListIds(log, 10),
            (std::vector<std::string>{"a10", "a9", "a8", "a7"}));
}

TEST_F(AttemptLogTest, ListsNewestFirstAcrossPagesAndWithAStatus) {
  AttemptLog log(&store_, 7, limits_);
  Append(log, "a", 17);  // seqs 10..16 kept, in slots 3,4,5,6,0,1,2
  EXPECT_EQ(ListIds(log, 3), (std::vector<std::string>{"a16", "a15", "a14",
                                                        "a13", "a12", "a11",
                                                        "a10"}));
  // Failed: every third (i % 3 == 2).
  EXPECT_EQ(ListIds(log, 1, AttemptRecord::FAILED),
            (std::vector<std::string>{"a14", "a11"}));
  absl::StatusOr<AttemptPage> page = log.List("sub", std::nullopt, 2, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->attempts.size(), 2u);
  EXPECT_EQ(page->attempts[0].seq(), 16u);
  // A token of another listing (another status) is refused.
  EXPECT_EQ(log.List("sub", AttemptRecord::FAILED, 2, page->next_page_token)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AttemptLogTest, ATokenOfTheKeyedListingIsRefused) {
  AttemptLog log(&store_, 5, limits_);
  Append(log, "a", 3);
  // Signed and for this listing, but holding a key, as tokens did before
  // the ring had slots.
  const std::string old = EncodePageToken(
      RequestFingerprint({"sub", "-1"}), storage::keys::Attempt("sub", 2));
  absl::StatusOr<AttemptPage> page = log.List("sub", std::nullopt, 2, old);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(page.status().message().find("page_token: not a token of this "
                                        "listing (was it issued by an older"),
            std::string::npos)
      << page.status();
  // The same listing from the start still works.
  EXPECT_EQ(ListIds(log, 2), (std::vector<std::string>{"a2", "a1", "a0"}));
}

TEST_F(AttemptLogTest, GetFindsKeptAttemptsOnly) {
  AttemptLog log(&store_, 3, limits_);
  Append(log, "a", 5);
  absl::StatusOr<AttemptRecord> kept = log.Get("sub", "a3");
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->seq(), 3u);
  EXPECT_EQ(log.Get("sub", "a1").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AttemptLogTest, RecordsStoredUnderTheirSeqAreReadAndReplaced) {
  // As stored before slots: keys are seqs, records without seq 0 have one.
  storage::WriteBatch old;
  for (uint64_t seq = 20; seq < 24; ++seq) {
    AttemptRecord attempt = Resolved(absl::StrCat("old", seq));
    attempt.set_seq(seq);
    old.Put(Column::kAttempts, storage::keys::Attempt("sub", seq),
            attempt.SerializeAsString());
  }
  ASSERT_TRUE(store_.Write(old).ok());
  AttemptLog log(&store_, 4, limits_);
  EXPECT_EQ(ListIds(log, 2),
            (std::vector<std::string>{"old23", "old22", "old21", "old20"}));
  // New attempts continue the seqs, in slots; the old records are deleted
  // as they fall out.
  Append(log, "n", 2);
  EXPECT_EQ(StoredKeys(), (std::vector<uint64_t>{0, 1, 22, 23}));  // 24%4, 25%4
  EXPECT_EQ(ListIds(log, 10),
            (std::vector<std::string>{"n1", "n0", "old23", "old22"}));
  Append(log, "n", 3, 2);
  EXPECT_EQ(StoredKeys(), (std::vector<uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(ListIds(log, 10),
            (std::vector<std::string>{"n4", "n3", "n2", "n1"}));
  // A fresh log (a restart) reads the same ring.
  AttemptLog reloaded(&store_, 4, limits_);
  Append(reloaded, "r", 1);
  EXPECT_EQ(ListIds(reloaded, 10),
            (std::vector<std::string>{"r0", "n4", "n3", "n2"}));
}

// A ring holding records with their header list (written before headers
// were stored by reference) and records with a reference lists and gets
// both with their headers as sent (core/attempt_headers.h).
TEST_F(AttemptLogTest, HeadersReadBackFromOldAndNewRecords) {
  AttemptLog log(&store_, 4, limits_);
  AttemptRecord old = Resolved("old");
  old.set_delivery_id("dlv_old");
  for (const auto& [name, value] :
       {std::pair<std::string, std::string>{"User-Agent", "webhookd/0"},
        {"webhook-id", "dlv_old"}}) {
    internal::HeaderRecord& header = *old.add_request_headers();
    header.set_name(name);
    header.set_value(value);
  }
  AttemptRecord referring = Resolved("new");
  referring.set_delivery_id("dlv_new");
  referring.set_create_time_micros(1'700'000'000'500'000);
  internal::RequestHeadersReference& reference =
      *referring.mutable_request_headers_reference();
  reference.set_content_type("application/json");
  reference.set_user_agent("webhookd/1");
  reference.set_signature_sent(true);
  for (AttemptRecord* attempt : {&old, &referring}) {
    storage::WriteBatch batch;
    ASSERT_TRUE(log.StageAppend(*attempt, batch).ok());
    ASSERT_TRUE(store_.Write(batch).ok());
  }
  auto headers_of = [](const AttemptRecord& attempt) {
    std::vector<std::string> lines;
    for (const auto& h : attempt.request_headers()) {
      lines.push_back(absl::StrCat(h.name(), ": ", h.value()));
    }
    return lines;
  };
  const std::vector<std::string> old_lines = {"User-Agent: webhookd/0",
                                              "webhook-id: dlv_old"};
  const std::vector<std::string> new_lines = {
      "Content-Type: application/json", "User-Agent: webhookd/1",
      "webhook-id: dlv_new", "webhook-timestamp: 1700000000",
      "webhook-signature: [redacted]"};
  absl::StatusOr<AttemptPage> page = log.List("sub", std::nullopt, 10, "");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->attempts.size(), 2u);
  EXPECT_EQ(headers_of(page->attempts[0]), new_lines);
  EXPECT_EQ(headers_of(page->attempts[1]), old_lines);
  for (const AttemptRecord& listed : page->attempts) {
    EXPECT_FALSE(listed.has_request_headers_reference());
  }
  absl::StatusOr<AttemptRecord> got = log.Get("sub", "new");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(headers_of(*got), new_lines);
  got = log.Get("sub", "old");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(headers_of(*got), old_lines);
}

TEST_F(AttemptLogTest, ASmallerKeepShrinksTheRing) {
  {
    AttemptLog log(&store_, 6, limits_);
    Append(log, "a", 9);  // seqs 3..8 in slots 3,4,5,0,1,2
  }
  AttemptLog log(&store_, 2, limits_);
  Append(log, "b", 1);  // seq 9 into slot 1
  EXPECT_EQ(ListIds(log, 10), (std::vector<std::string>{"b0", "a8"}));
  EXPECT_EQ(StoredKeys().size(), 2u);
  Append(log, "b", 3, 1);
  EXPECT_EQ(ListIds(log, 10), (std::vector<std::string>{"b3", "b2"}));
  EXPECT_EQ(StoredKeys(), (std::vector<uint64_t>{0, 1}));
}

TEST_F(AttemptLogTest, AFailedWriteIsForgottenOnceInvalidated) {
  AttemptLog log(&store_, 3, limits_);
  Append(log, "a", 3);
  AttemptRecord lost = Resolved("lost");
  storage::WriteBatch never_written;
  ASSERT_TRUE(log.StageAppend(lost, never_written).ok());
  log.Invalidate("sub");
  Append(log, "a", 1, 3);
  EXPECT_EQ(ListIds(log, 10), (std::vector<std::string>{"a3", "a2", "a1"}));
}

}  // namespace
}  // namespace webhooks::core
