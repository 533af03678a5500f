// A thin wrapper over one libpq connection and a pool of them, for
// PostgresStore. pg_connection.cc is the only file of the project that
// includes libpq-fe.h; nothing here exposes libpq types.
//
// Every call sends its statements in libpq pipeline mode, so one call is one
// network round trip however many statements it carries:
//
//   ASSIGN_OR_RETURN(pg::Pool::Handle conn, pool.Acquire());
//   pg::Statement get{"get_x", "SELECT v FROM t WHERE k = $1::bytea",
//                     {pg::Param::Bytea(key)}};
//   ASSIGN_OR_RETURN(std::vector<pg::Result> results, conn->Run({&get, 1}));
//
// Parameters and results are in binary format (bytea is raw bytes, integers
// big-endian). Errors are absl codes (see Connection::Run); a connection
// that lost its server is marked broken and the pool replaces it.
#ifndef WEBHOOKS_STORAGE_PG_CONNECTION_H_
#define WEBHOOKS_STORAGE_PG_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace webhooks::storage::pg {

// One statement parameter in binary format, or SQL NULL. The SQL gives every
// parameter its type with a cast ($1::bytea, $2::bigint[]).
struct Param {
  static Param Bytea(std::string_view bytes);
  static Param Text(std::string_view text);
  static Param Int64(int64_t value);
  static Param ByteaArray(const std::vector<std::string_view>& values);
  static Param Int64Array(const std::vector<int64_t>& values);
  static Param Null();

  std::string bytes;
  bool is_null = false;
};

// A statement and its parameters. A non-empty `name` prepares the statement
// once per connection (by that name) and reuses it.
struct Statement {
  std::string_view name;
  std::string_view sql;
  std::vector<Param> params;
};

// The rows of one statement, copied out of libpq.
class Result {
 public:
  int rows() const { return rows_; }
  int columns() const { return columns_; }
  bool IsNull(int row, int column) const;
  std::string_view Value(int row, int column) const;  // raw binary value
  // A binary smallint, integer or bigint value (0 when NULL).
  int64_t Int64(int row, int column) const;
  // Rows changed by an INSERT/UPDATE/DELETE (PQcmdTuples).
  int64_t affected() const { return affected_; }

 private:
  friend class Connection;
  int rows_ = 0;
  int columns_ = 0;
  int64_t affected_ = 0;
  std::string data_;
  // Per cell, row-major: offset into data_ and length (-1 for NULL).
  std::vector<std::pair<size_t, int64_t>> cells_;
};

struct ConnectOptions {
  // Given to libpq as is: a URI or key=value words, multi-host included.
  std::string dsn;
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration statement_timeout = absl::Seconds(30);
};

// True for errors worth retrying the whole transaction at once:
// serialization failures and deadlocks (ABORTED).
bool IsRetryable(const absl::Status& status);

class Connection {
 public:
  // Connects (libpq chooses among the DSN's hosts on every call), sets
  // synchronous_commit on and the statement timeout. UNAVAILABLE when no
  // host can be reached.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(
      const ConnectOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends every statement in one pipeline (one round trip) and returns one
  // Result per statement. When a statement fails, the ones after it are
  // skipped and its error is returned:
  //   UNAVAILABLE: connection lost, server shutting down or starting up,
  //     read-only (a standby), timeouts; the connection is then broken;
  //   RESOURCE_EXHAUSTED: disk full, out of memory;
  //   ABORTED: serialization failure or deadlock (IsRetryable);
  //   INVALID_ARGUMENT: data the database cannot hold (a key too long);
  //   INTERNAL: anything else (a bug in our SQL).
  // A transaction the statements opened stays open (in_transaction()).
  absl::StatusOr<std::vector<Result>> Run(std::span<const Statement> statements);
  // Like Run, with a client-side deadline of `timeout` instead of the
  // statement timeout plus the connect timeout.
  absl::StatusOr<std::vector<Result>> Run(std::span<const Statement> statements,
                                          absl::Duration timeout);

  // Ends an open transaction with ROLLBACK (breaks the connection if that
  // fails).
  void Rollback();

  // The connection cannot be used again.
  bool broken() const { return broken_; }
  // Inside a transaction block (open or failed).
  bool in_transaction() const;
  // For an idle pooled connection: false when the server has closed it
  // (checked without a round trip).
  bool StillOpen();

 private:
  struct Impl;
  explicit Connection(std::unique_ptr<Impl> impl, ConnectOptions options);
  absl::Status Send(std::span<const Statement> statements,
                    std::vector<int>& kinds, std::vector<std::string>& preparing);
  absl::Status Broken(std::string_view what);

  std::unique_ptr<Impl> impl_;
  const ConnectOptions options_;
  bool broken_ = false;
};

// Up to `size` connections, opened on demand; a broken connection is
// dropped (with every idle one, since the server they share is likely gone
// too) and replaced on the next Acquire. Thread-safe.
class Pool {
 public:
  Pool(ConnectOptions options, int size);
  ~Pool();

  // A connection borrowed from the pool, returned when destroyed.
  class Handle {
   public:
    Handle(Handle&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)),
          conn_(std::move(other.conn_)) {}
    Handle& operator=(Handle&&) = delete;
    ~Handle();
    Connection* operator->() const { return conn_.get(); }
    Connection& operator*() const { return *conn_; }

   private:
    friend class Pool;
    Handle(Pool* pool, std::unique_ptr<Connection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  // An idle connection, a new one, or (when all are in use) the next one
  // returned, waiting at most the connect timeout. UNAVAILABLE when the
  // database cannot be reached.
  absl::StatusOr<Handle> Acquire();

  const ConnectOptions& options() const { return options_; }

 private:
  void Release(std::unique_ptr<Connection> conn);

  const ConnectOptions options_;
  const int size_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // idle + lent out + connecting
};

}  // namespace webhooks::storage::pg

#endif  // WEBHOOKS_STORAGE_PG_CONNECTION_H_
