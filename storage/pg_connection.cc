// The only file of the project that includes libpq.
#include "storage/pg_connection.h"

#include <poll.h>

// pkg-config's -I (CMake) or Debian's /usr/include/postgresql (Bazel, whose
// system_libs carry link flags only).
#if __has_include(<libpq-fe.h>)
#include <libpq-fe.h>
#else
#include <postgresql/libpq-fe.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/strings.h"

namespace webhooks::storage::pg {
namespace {

constexpr char kRetryPayload[] = "webhookd.storage.pg.retryable";
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;

void AppendInt32(std::string& out, int32_t v) {
  const uint32_t u = static_cast<uint32_t>(v);
  const char bytes[4] = {static_cast<char>(u >> 24), static_cast<char>(u >> 16),
                         static_cast<char>(u >> 8), static_cast<char>(u)};
  out.append(bytes, 4);
}

void AppendInt64(std::string& out, int64_t v) {
  const uint64_t u = static_cast<uint64_t>(v);
  AppendInt32(out, static_cast<int32_t>(u >> 32));
  AppendInt32(out, static_cast<int32_t>(u & 0xffffffffu));
}

// The binary array format of array_recv: dimensions, flags, element type,
// then each element as a length and its bytes.
std::string ArrayHeader(Oid element, size_t count) {
  std::string out;
  AppendInt32(out, count == 0 ? 0 : 1);  // dimensions
  AppendInt32(out, 0);                   // no NULLs
  AppendInt32(out, static_cast<int32_t>(element));
  if (count > 0) {
    AppendInt32(out, static_cast<int32_t>(count));
    AppendInt32(out, 1);  // lower bound
  }
  return out;
}

std::string Trimmed(const char* message) {
  std::string out = message == nullptr ? "" : message;
  absl::StripTrailingAsciiWhitespace(&out);
  return out;
}

// The absl status of a failed statement; sets *discard when the connection
// must not be used again.
absl::Status MapError(const PGresult* res, PGconn* conn, bool* discard) {
  const char* state_field =
      res == nullptr ? nullptr : PQresultErrorField(res, PG_DIAG_SQLSTATE);
  const std::string state = state_field == nullptr ? "" : state_field;
  std::string message = Trimmed(res == nullptr ? PQerrorMessage(conn)
                                               : PQresultErrorMessage(res));
  if (message.empty()) message = Trimmed(PQerrorMessage(conn));
  const std::string text = StrCat("postgres: ", message,
                                  state.empty() ? "" : " (SQLSTATE ", state,
                                  state.empty() ? "" : ")");
  const bool lost = PQstatus(conn) == CONNECTION_BAD;
  if (lost || state.empty() || absl::StartsWith(state, "08") ||
      state == "57P01" || state == "57P02" || state == "57P03" ||
      state == "53300" || state == "25006" || state == "57014" ||
      absl::StartsWith(state, "58")) {
    // Server gone, shutting down or starting up, a standby (read-only, after
    // a failover), too many clients, a timeout, an I/O error: try another
    // connection later (which re-runs libpq's choice of host).
    *discard = *discard || lost || state != "57014";
    return absl::UnavailableError(text);
  }
  if (state == "40001" || state == "40P01") {
    absl::Status status = absl::AbortedError(text);
    status.SetPayload(kRetryPayload, absl::Cord("1"));
    return status;
  }
  if (absl::StartsWith(state, "53")) return absl::ResourceExhaustedError(text);
  if (absl::StartsWith(state, "54") || absl::StartsWith(state, "22")) {
    return absl::InvalidArgumentError(text);
  }
  return absl::InternalError(text);
}

}  // namespace

bool IsRetryable(const absl::Status& status) {
  return absl::IsAborted(status) &&
         status.GetPayload(kRetryPayload).has_value();
}

// --- Param -----------------------------------------------------------------

Param Param::Bytea(std::string_view bytes) {
  return Param{std::string(bytes), false};
}
Param Param::Text(std::string_view text) {
  return Param{std::string(text), false};
}
Param Param::Int64(int64_t value) {
  Param p;
  AppendInt64(p.bytes, value);
  return p;
}
Param Param::Null() { return Param{"", true}; }

Param Param::ByteaArray(const std::vector<std::string_view>& values) {
  size_t total = 20;
  for (std::string_view v : values) total += 4 + v.size();
  Param p;
  p.bytes = ArrayHeader(kByteaOid, values.size());
  p.bytes.reserve(total);
  for (std::string_view v : values) {
    AppendInt32(p.bytes, static_cast<int32_t>(v.size()));
    p.bytes.append(v);
  }
  return p;
}

Param Param::Int64Array(const std::vector<int64_t>& values) {
  Param p;
  p.bytes = ArrayHeader(kInt8Oid, values.size());
  for (int64_t v : values) {
    AppendInt32(p.bytes, 8);
    AppendInt64(p.bytes, v);
  }
  return p;
}

// --- Result ----------------------------------------------------------------

bool Result::IsNull(int row, int column) const {
  return cells_[static_cast<size_t>(row) * columns_ + column].second < 0;
}

std::string_view Result::Value(int row, int column) const {
  const auto& [pos, len] = cells_[static_cast<size_t>(row) * columns_ + column];
  if (len < 0) return {};
  return std::string_view(data_).substr(pos, static_cast<size_t>(len));
}

int64_t Result::Int64(int row, int column) const {
  std::string_view v = Value(row, column);
  uint64_t u = 0;
  for (unsigned char c : v) u = (u << 8) | c;
  // Sign-extend 2- and 4-byte integers.
  if (v.size() == 2) return static_cast<int16_t>(u);
  if (v.size() == 4) return static_cast<int32_t>(u);
  return static_cast<int64_t>(u);
}

// --- Connection ------------------------------------------------------------

struct Connection::Impl {
  ~Impl() {
    if (conn != nullptr) PQfinish(conn);
  }
  PGconn* conn = nullptr;
  std::vector<std::string> prepared;  // statement names prepared here

  bool IsPrepared(std::string_view name) const {
    return std::find(prepared.begin(), prepared.end(), name) != prepared.end();
  }
};

Connection::Connection(std::unique_ptr<Impl> impl, ConnectOptions options)
    : impl_(std::move(impl)), options_(std::move(options)) {}

Connection::~Connection() = default;

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(
    const ConnectOptions& options) {
  // libpq waits at least 2 s per host; whole seconds.
  const std::string timeout = std::to_string(std::max<int64_t>(
      2, static_cast<int64_t>(
             std::ceil(absl::ToDoubleSeconds(options.connect_timeout)))));
  // Defaults first: the DSN (expanded from "dbname") overrides them.
  const char* keywords[] = {"connect_timeout", "keepalives",
                            "keepalives_idle", "keepalives_interval",
                            "keepalives_count", "dbname", nullptr};
  const char* values[] = {timeout.c_str(), "1", "10", "5", "3",
                          options.dsn.c_str(), nullptr};
  auto impl = std::make_unique<Impl>();
  impl->conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (impl->conn == nullptr) {
    return absl::ResourceExhaustedError("postgres: out of memory");
  }
  if (PQstatus(impl->conn) != CONNECTION_OK) {
    return absl::UnavailableError(StrCat("postgres: cannot connect: ",
                                         Trimmed(PQerrorMessage(impl->conn))));
  }
  // Notices ("relation already exists, skipping") are not errors: drop them.
  PQsetNoticeProcessor(
      impl->conn, [](void*, const char*) {}, nullptr);
  if (PQsetnonblocking(impl->conn, 1) != 0) {
    return absl::InternalError("postgres: cannot make the socket nonblocking");
  }
  std::unique_ptr<Connection> connection(
      new Connection(std::move(impl), options));
  const std::string set_timeout =
      StrCat("SET statement_timeout = ",
             absl::ToInt64Milliseconds(options.statement_timeout));
  const Statement setup[] = {
      {"", "SET synchronous_commit = on", {}},
      {"", set_timeout, {}},
  };
  absl::StatusOr<std::vector<Result>> done =
      connection->Run(setup, options.connect_timeout);
  if (!done.ok()) return done.status();
  return connection;
}

bool Connection::in_transaction() const {
  return PQtransactionStatus(impl_->conn) != PQTRANS_IDLE;
}

bool Connection::StillOpen() {
  if (broken_ || PQstatus(impl_->conn) != CONNECTION_OK) return false;
  pollfd fd{PQsocket(impl_->conn), POLLIN, 0};
  if (poll(&fd, 1, 0) > 0) {
    // An idle connection has nothing to read but notices: EOF or an error
    // (the server closed it) breaks it.
    if (PQconsumeInput(impl_->conn) == 0 ||
        PQstatus(impl_->conn) != CONNECTION_OK) {
      broken_ = true;
      return false;
    }
  }
  return true;
}

absl::Status Connection::Broken(std::string_view what) {
  broken_ = true;
  return absl::UnavailableError(StrCat("postgres: ", what, ": ",
                                       Trimmed(PQerrorMessage(impl_->conn))));
}

void Connection::Rollback() {
  if (broken_ || !in_transaction()) return;
  const Statement rollback[] = {{"", "ROLLBACK", {}}};
  if (!Run(rollback).ok()) broken_ = true;
}

absl::Status Connection::Send(std::span<const Statement> statements,
                              std::vector<int>& kinds,
                              std::vector<std::string>& preparing) {
  PGconn* conn = impl_->conn;
  if (PQenterPipelineMode(conn) != 1) return Broken("enter pipeline mode");
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  for (size_t i = 0; i < statements.size(); ++i) {
    const Statement& s = statements[i];
    values.clear();
    lengths.clear();
    formats.clear();
    for (const Param& p : s.params) {
      values.push_back(p.is_null ? nullptr : p.bytes.data());
      lengths.push_back(static_cast<int>(p.bytes.size()));
      formats.push_back(1);
    }
    const int n = static_cast<int>(s.params.size());
    const std::string sql(s.sql);
    int sent;
    if (s.name.empty()) {
      sent = PQsendQueryParams(conn, sql.c_str(), n, nullptr, values.data(),
                               lengths.data(), formats.data(), 1);
    } else {
      const std::string name(s.name);
      if (!impl_->IsPrepared(name) &&
          std::find(preparing.begin(), preparing.end(), name) ==
              preparing.end()) {
        if (PQsendPrepare(conn, name.c_str(), sql.c_str(), n, nullptr) != 1) {
          return Broken("send");
        }
        preparing.push_back(name);
        // A Prepare's result: -1 - its index in `preparing`.
        kinds.push_back(-static_cast<int>(preparing.size()));
      }
      sent = PQsendQueryPrepared(conn, name.c_str(), n, values.data(),
                                 lengths.data(), formats.data(), 1);
    }
    if (sent != 1) return Broken("send");
    kinds.push_back(static_cast<int>(i));
  }
  if (PQpipelineSync(conn) != 1) return Broken("send");
  return absl::OkStatus();
}

// Waits until the socket is readable (or writable too, when `write`), up to
// `deadline`. False on timeout.
static bool WaitSocket(PGconn* conn, bool write, absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return false;
  pollfd fd{PQsocket(conn),
            static_cast<short>(POLLIN | (write ? POLLOUT : 0)), 0};
  const int ms = static_cast<int>(
      std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1 << 30));
  return poll(&fd, 1, ms) > 0;
}

absl::StatusOr<std::vector<Result>> Connection::Run(
    std::span<const Statement> statements) {
  return Run(statements,
             options_.statement_timeout + options_.connect_timeout);
}

absl::StatusOr<std::vector<Result>> Connection::Run(
    std::span<const Statement> statements, absl::Duration timeout) {
  if (broken_) return absl::UnavailableError("postgres: connection lost");
  PGconn* conn = impl_->conn;
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<int> kinds;
  std::vector<std::string> preparing;
  if (absl::Status sent = Send(statements, kinds, preparing); !sent.ok()) {
    return sent;
  }
  // Send everything, reading meanwhile so that neither side blocks.
  for (;;) {
    const int flushed = PQflush(conn);
    if (flushed == 0) break;
    if (flushed < 0) return Broken("send");
    if (!WaitSocket(conn, /*write=*/true, deadline)) {
      return Broken("timed out sending");
    }
    if (PQconsumeInput(conn) == 0) return Broken("connection lost");
  }
  // The next result, waiting for it; nullptr at the end of a statement's
  // results or when the connection broke.
  bool timed_out = false;
  auto next = [&]() -> PGresult* {
    while (PQisBusy(conn)) {
      if (!WaitSocket(conn, /*write=*/false, deadline)) {
        timed_out = true;
        return nullptr;
      }
      if (PQconsumeInput(conn) == 0) return nullptr;
    }
    return PQgetResult(conn);
  };
  std::vector<Result> results(statements.size());
  absl::Status status;
  bool discard = false;
  for (int kind : kinds) {
    PGresult* res = next();
    if (res == nullptr) {
      return timed_out ? Broken("timed out waiting for the server")
                       : Broken("connection lost");
    }
    const ExecStatusType type = PQresultStatus(res);
    if (type == PGRES_FATAL_ERROR) {
      if (status.ok()) status = MapError(res, conn, &discard);
    } else if (type == PGRES_PIPELINE_ABORTED) {
      // Skipped after an earlier error.
    } else if (kind < 0) {
      impl_->prepared.push_back(preparing[static_cast<size_t>(-1 - kind)]);
    } else {
      Result& out = results[static_cast<size_t>(kind)];
      out.rows_ = PQntuples(res);
      out.columns_ = PQnfields(res);
      const char* affected = PQcmdTuples(res);
      out.affected_ = (affected && *affected) ? std::atoll(affected) : 0;
      out.cells_.reserve(static_cast<size_t>(out.rows_) * out.columns_);
      for (int r = 0; r < out.rows_; ++r) {
        for (int c = 0; c < out.columns_; ++c) {
          if (PQgetisnull(res, r, c)) {
            out.cells_.emplace_back(0, -1);
            continue;
          }
          const int len = PQgetlength(res, r, c);
          out.cells_.emplace_back(out.data_.size(), len);
          out.data_.append(PQgetvalue(res, r, c), static_cast<size_t>(len));
        }
      }
    }
    PQclear(res);
    // Each statement's results end with a null result.
    if (PGresult* extra = next(); extra != nullptr) {
      PQclear(extra);
      return Broken("unexpected extra result");
    }
    if (timed_out) return Broken("timed out waiting for the server");
  }
  PGresult* sync = next();
  const bool synced =
      sync != nullptr && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
  if (sync != nullptr) PQclear(sync);
  if (!synced || PQexitPipelineMode(conn) != 1) {
    if (!status.ok()) {
      broken_ = true;
      return status;
    }
    return Broken(timed_out ? "timed out waiting for the server"
                            : "connection lost");
  }
  if (discard) broken_ = true;
  if (!status.ok()) return status;
  return results;
}

// --- Pool ------------------------------------------------------------------

Pool::Pool(ConnectOptions options, int size)
    : options_(std::move(options)), size_(std::max(1, size)) {}

Pool::~Pool() {
  absl::MutexLock lock(&mu_);
  idle_.clear();
}

Pool::Handle::~Handle() {
  if (pool_ != nullptr && conn_ != nullptr) pool_->Release(std::move(conn_));
}

absl::StatusOr<Pool::Handle> Pool::Acquire() {
  const absl::Time deadline = absl::Now() + options_.connect_timeout +
                              options_.statement_timeout;
  for (;;) {
    std::unique_ptr<Connection> conn;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !idle_.empty() || open_ < size_;
      };
      while (!ready()) {
        if (mu_.AwaitWithDeadline(absl::Condition(&ready), deadline)) break;
        if (!ready()) {
          return absl::UnavailableError(
              "postgres: every pooled connection stayed busy");
        }
      }
      if (!idle_.empty()) {
        conn = std::move(idle_.back());
        idle_.pop_back();
      } else {
        ++open_;
      }
    }
    if (conn != nullptr) {
      if (conn->StillOpen()) return Handle(this, std::move(conn));
      Release(std::move(conn));  // drops it and every idle one
      continue;
    }
    absl::StatusOr<std::unique_ptr<Connection>> opened =
        Connection::Open(options_);
    if (!opened.ok()) {
      absl::MutexLock lock(&mu_);
      --open_;
      return opened.status();
    }
    return Handle(this, *std::move(opened));
  }
}

void Pool::Release(std::unique_ptr<Connection> conn) {
  if (!conn->broken() && conn->in_transaction()) conn->Rollback();
  std::vector<std::unique_ptr<Connection>> dropped;  // closed unlocked
  {
    absl::MutexLock lock(&mu_);
    if (!conn->broken()) {
      idle_.push_back(std::move(conn));
      return;
    }
    // The server went away or failed over: the idle connections are likely
    // dead too; reconnect (re-running libpq's host choice) on next use.
    dropped = std::move(idle_);
    idle_.clear();
    open_ -= 1 + static_cast<int>(dropped.size());
  }
  dropped.push_back(std::move(conn));
}

}  // namespace webhooks::storage::pg
