// The PostgresStore tests' databases: one PostgreSQL server per test binary
// (tests/postgres_server.h), started at first use, and a new empty database
// on it for each test.
#ifndef WEBHOOKS_STORAGE_POSTGRES_TEST_DATABASE_H_
#define WEBHOOKS_STORAGE_POSTGRES_TEST_DATABASE_H_

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/postgres_store.h"
#include "tests/postgres_server.h"

namespace webhooks::storage {

using webhooks::testing::PostgresServer;


inline PostgresServer& SharedServer() {
  static std::unique_ptr<PostgresServer> server = [] {
    absl::StatusOr<std::unique_ptr<PostgresServer>> s =
        PostgresServer::StartNew();
    if (!s.ok()) {
      std::fprintf(stderr, "cannot start PostgreSQL: %s\n",
                   s.status().ToString().c_str());
      std::abort();
    }
    return *std::move(s);
  }();
  return *server;
}

// A DSN of a new, empty database on the shared server.
inline std::string NewDatabase() {
  static std::atomic<int> next{0};
  absl::StatusOr<std::string> dsn = SharedServer().CreateDatabase(
      absl::StrCat("t", getpid(), "_", next.fetch_add(1)));
  EXPECT_TRUE(dsn.ok()) << dsn.status();
  return dsn.ok() ? *dsn : "";
}

inline std::string DatabaseOf(const std::string& dsn) {
  return dsn.substr(dsn.rfind('=') + 1);
}

inline std::unique_ptr<PostgresStore> OpenOrDie(PostgresOptions options) {
  absl::StatusOr<std::unique_ptr<PostgresStore>> store =
      PostgresStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

}  // namespace webhooks::storage

#endif  // WEBHOOKS_STORAGE_POSTGRES_TEST_DATABASE_H_
