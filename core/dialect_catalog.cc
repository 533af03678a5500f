#include "core/dialect_catalog.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "core/client_certificate.h"
#include "core/errors.h"
#include "core/page_token.h"
#include "core/validation.h"

namespace webhooks::core {
namespace {

constexpr std::string_view kDefaultUserAgent = "webhookd/1";
constexpr std::string_view kDefaultContentType = "application/json";

// Headers the service sets itself; a dialect may not override them.
const std::set<std::string, std::less<>>& ReservedHeaders() {
  static const auto* names = new std::set<std::string, std::less<>>{
      "webhook-id",     "webhook-timestamp", "webhook-signature",
      "content-type",   "user-agent",        "host",
      "content-length", "transfer-encoding", "connection",
      "expect",         "te",                "upgrade"};
  return *names;
}

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

DialectRecord BuiltinDefault(int64_t now_micros) {
  DialectRecord d;
  d.set_name(std::string(kDefaultDialect));
  d.set_representation(std::string(kDefaultRepresentation));
  d.set_http_method("POST");
  d.set_content_type(std::string(kDefaultContentType));
  d.set_user_agent(std::string(kDefaultUserAgent));
  d.set_signing(kSigningStandardWebhooks);
  d.set_envelope(kEnvelopeRaw);
  d.set_builtin(true);
  d.set_create_time_micros(now_micros);
  d.set_update_time_micros(now_micros);
  return d;
}

constexpr std::string_view kDialectCertificateField =
    "dialect.client_certificate";

const std::set<std::string, std::less<>>& UpdatablePaths() {
  static const auto* paths = new std::set<std::string, std::less<>>{
      "representation", "http_method", "content_type", "user_agent",
      "headers",        "signing",     "envelope", "client_certificate"};
  return *paths;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DialectCatalog>> DialectCatalog::Open(
    storage::Store* store, const Clock* clock, const Limits& limits) {
  std::unique_ptr<DialectCatalog> catalog(
      new DialectCatalog(store, clock, limits));
  absl::MutexLock lock(&catalog->mu_);
  absl::Status parse_error;
  RETURN_IF_ERROR(store->Scan(
      storage::Column::kDialects, "", "",
      [&](std::string_view key, std::string_view value) {
        DialectRecord record;
        if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          parse_error = absl::DataLossError(
              StrCat("stored dialect \"", key, "\" is corrupt"));
          return false;
        }
        catalog->dialects_.emplace(std::string(key), std::move(record));
        return true;
      }));
  RETURN_IF_ERROR(parse_error);
  if (!catalog->dialects_.contains(kDefaultDialect)) {
    // Written only if still absent: nodes of a cluster starting at once
    // create it once, and the others take what the first one wrote.
    const DialectRecord builtin = BuiltinDefault(Micros(clock->Now()));
    storage::WriteBatch batch;
    batch.Expect(storage::Column::kDialects, kDefaultDialect, std::nullopt);
    batch.Put(storage::Column::kDialects, kDefaultDialect,
              builtin.SerializeAsString());
    absl::Status written = store->Write(batch);
    if (storage::IsExpectationFailure(written)) {
      ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                       store->Get(storage::Column::kDialects, kDefaultDialect));
      DialectRecord stored;
      if (!bytes.has_value() || !stored.ParseFromString(*bytes)) {
        return absl::DataLossError(
            StrCat("stored dialect \"", kDefaultDialect, "\" is corrupt"));
      }
      catalog->dialects_.emplace(std::string(kDefaultDialect), std::move(stored));
    } else {
      RETURN_IF_ERROR(written);
      catalog->dialects_.emplace(std::string(kDefaultDialect), builtin);
    }
  }
  return catalog;
}

absl::Status DialectCatalog::Normalize(DialectRecord& d) const {
  RETURN_IF_ERROR(ValidateDialectName("dialect.name", d.name()));
  if (d.representation().empty()) {
    d.set_representation(std::string(kDefaultRepresentation));
  }
  RETURN_IF_ERROR(ValidateTypeToken("dialect.representation",
                                    d.representation(), false, limits_));
  std::string method = absl::AsciiStrToUpper(d.http_method());
  if (method.empty()) method = "POST";
  if (method != "POST" && method != "PUT" && method != "PATCH") {
    return error::InvalidField("dialect.http_method",
                               "must be POST, PUT or PATCH");
  }
  d.set_http_method(method);
  if (d.content_type().empty()) {
    d.set_content_type(std::string(kDefaultContentType));
  }
  RETURN_IF_ERROR(ValidateHeader("dialect.content_type", "Content-Type",
                                 d.content_type(), limits_));
  if (d.user_agent().empty()) d.set_user_agent(std::string(kDefaultUserAgent));
  RETURN_IF_ERROR(ValidateHeader("dialect.user_agent", "User-Agent",
                                 d.user_agent(), limits_));
  if (d.headers_size() > limits_.max_dialect_headers) {
    return error::LimitExceeded(
        "dialect.headers",
        static_cast<size_t>(limits_.max_dialect_headers), "headers");
  }
  for (const auto& [name, value] : d.headers()) {
    std::string field = StrCat("dialect.headers[\"", name, "\"]");
    RETURN_IF_ERROR(ValidateHeader(field, name, value, limits_));
    if (ReservedHeaders().contains(absl::AsciiStrToLower(name))) {
      return error::InvalidField(field, "is set by the service and cannot be "
                                        "overridden");
    }
  }
  if (d.signing() == 0) d.set_signing(kSigningStandardWebhooks);
  if (d.signing() != kSigningStandardWebhooks && d.signing() != kSigningNone) {
    return error::InvalidField("dialect.signing", "unknown signing scheme");
  }
  if (!d.client_certificate_pem().empty() || !d.client_key_pem().empty()) {
    RETURN_IF_ERROR(CheckClientCertificate(kDialectCertificateField,
                                           d.client_certificate_pem(),
                                           d.client_key_pem())
                        .status());
  }
  if (d.envelope() == 0) d.set_envelope(kEnvelopeRaw);
  if (d.envelope() != kEnvelopeRaw && d.envelope() != kEnvelopeStandardJson) {
    return error::InvalidField("dialect.envelope", "unknown envelope");
  }
  return absl::OkStatus();
}

absl::Status DialectCatalog::Store(const DialectRecord& record) {
  storage::WriteBatch batch;
  batch.Put(storage::Column::kDialects, record.name(),
            record.SerializeAsString());
  RETURN_IF_ERROR(store_->Write(batch));
  dialects_[record.name()] = record;
  generation_.fetch_add(1, std::memory_order_acq_rel);
  return absl::OkStatus();
}

absl::Status DialectCatalog::Refresh(std::string_view name) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_->Get(storage::Column::kDialects, name));
  absl::MutexLock lock(&mu_);
  if (!bytes.has_value()) {
    if (auto it = dialects_.find(name); it != dialects_.end()) {
      dialects_.erase(it);
      generation_.fetch_add(1, std::memory_order_acq_rel);
    }
    return absl::OkStatus();
  }
  DialectRecord record;
  if (!record.ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) {
    return absl::DataLossError(StrCat("stored dialect \"", name, "\" is corrupt"));
  }
  dialects_[std::string(name)] = std::move(record);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  return absl::OkStatus();
}

absl::Status DialectCatalog::Reload() {
  std::map<std::string, DialectRecord, std::less<>> stored;
  absl::Status parse_error;
  RETURN_IF_ERROR(store_->Scan(
      storage::Column::kDialects, "", "",
      [&](std::string_view key, std::string_view value) {
        DialectRecord& record = stored[std::string(key)];
        if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          parse_error = absl::DataLossError(
              StrCat("stored dialect \"", key, "\" is corrupt"));
          return false;
        }
        return true;
      }));
  RETURN_IF_ERROR(parse_error);
  absl::MutexLock lock(&mu_);
  dialects_ = std::move(stored);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  return absl::OkStatus();
}

absl::StatusOr<DialectRecord> DialectCatalog::Create(
    const DialectRecord& draft) {
  DialectRecord record = draft;
  record.set_builtin(false);
  RETURN_IF_ERROR(CheckNewClientCertificate(
      kDialectCertificateField, record.client_certificate_pem(),
      record.client_key_pem(), clock_->Now()));
  RETURN_IF_ERROR(Normalize(record));
  absl::MutexLock lock(&mu_);
  if (dialects_.contains(record.name())) {
    return error::DialectExists(record.name());
  }
  if (dialects_.size() >= static_cast<size_t>(limits_.max_dialects)) {
    return error::TooMany("dialects", limits_.max_dialects);
  }
  int64_t now = Micros(clock_->Now());
  record.set_create_time_micros(now);
  record.set_update_time_micros(now);
  RETURN_IF_ERROR(Store(record));
  return record;
}

absl::StatusOr<DialectRecord> DialectCatalog::Get(std::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = dialects_.find(name);
  if (it == dialects_.end()) return error::DialectNotFound(name);
  return it->second;
}

void DialectCatalog::RepresentationOf(std::string_view name,
                                      std::string& out) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = dialects_.find(name);
  if (it == dialects_.end() || it->second.representation().empty()) {
    out.assign(kDefaultRepresentation);
  } else {
    out.assign(it->second.representation());
  }
}

bool DialectCatalog::Exists(std::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  return dialects_.contains(name);
}

absl::StatusOr<DialectPage> DialectCatalog::List(
    int page_size, std::string_view page_token) const {
  ASSIGN_OR_RETURN(int size, NormalizePageSize("page_size", page_size, limits_));
  const uint64_t fingerprint = RequestFingerprint({"dialects"});
  ASSIGN_OR_RETURN(std::string after,
                   DecodePageToken("page_token", page_token, fingerprint));
  absl::MutexLock lock(&mu_);
  DialectPage page;
  auto it = after.empty() ? dialects_.begin() : dialects_.upper_bound(after);
  for (; it != dialects_.end(); ++it) {
    if (page.dialects.size() == static_cast<size_t>(size)) {
      page.next_page_token =
          EncodePageToken(fingerprint, page.dialects.back().name());
      break;
    }
    page.dialects.push_back(it->second);
  }
  return page;
}

absl::StatusOr<DialectRecord> DialectCatalog::Update(
    const DialectRecord& changes, const std::vector<std::string>& paths) {
  RETURN_IF_ERROR(ValidateDialectName("dialect.name", changes.name()));
  if (paths.empty()) return error::RequiredField("update_mask");
  for (const std::string& path : paths) {
    if (!UpdatablePaths().contains(path)) {
      return error::InvalidField(
          "update_mask", StrCat("\"", path, "\" cannot be updated"));
    }
  }
  absl::MutexLock lock(&mu_);
  auto it = dialects_.find(changes.name());
  if (it == dialects_.end()) return error::DialectNotFound(changes.name());
  if (it->second.builtin()) return error::DialectBuiltin(changes.name());
  if (it->second.is_static()) return error::DialectStatic(changes.name());
  DialectRecord record = it->second;
  for (const std::string& path : paths) {
    if (path == "representation") record.set_representation(changes.representation());
    if (path == "http_method") record.set_http_method(changes.http_method());
    if (path == "content_type") record.set_content_type(changes.content_type());
    if (path == "user_agent") record.set_user_agent(changes.user_agent());
    if (path == "headers") *record.mutable_headers() = changes.headers();
    if (path == "signing") record.set_signing(changes.signing());
    if (path == "envelope") record.set_envelope(changes.envelope());
    if (path == "client_certificate") {
      record.set_client_certificate_pem(changes.client_certificate_pem());
      record.set_client_key_pem(changes.client_key_pem());
      RETURN_IF_ERROR(CheckNewClientCertificate(
          kDialectCertificateField, record.client_certificate_pem(),
          record.client_key_pem(), clock_->Now()));
    }
  }
  RETURN_IF_ERROR(Normalize(record));
  record.set_update_time_micros(Micros(clock_->Now()));
  RETURN_IF_ERROR(Store(record));
  return record;
}

absl::Status DialectCatalog::Delete(std::string_view name) {
  RETURN_IF_ERROR(ValidateDialectName("name", name));
  absl::MutexLock lock(&mu_);
  auto it = dialects_.find(name);
  if (it == dialects_.end()) return error::DialectNotFound(name);
  if (it->second.builtin()) return error::DialectBuiltin(name);
  if (it->second.is_static()) return error::DialectStatic(name);
  storage::WriteBatch batch;
  batch.Delete(storage::Column::kDialects, name);
  RETURN_IF_ERROR(store_->Write(batch));
  dialects_.erase(it);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  return absl::OkStatus();
}

absl::Status DialectCatalog::SyncStatic(
    const std::vector<DialectRecord>& declared,
    absl::FunctionRef<size_t(std::string_view)> in_use) {
  std::map<std::string, DialectRecord, std::less<>> wanted;
  for (size_t i = 0; i < declared.size(); ++i) {
    DialectRecord record = declared[i];
    record.set_builtin(false);
    record.set_is_static(true);
    absl::Status valid = Normalize(record);
    if (!valid.ok()) {
      return absl::InvalidArgumentError(
          StrCat("config dialects[", i, "]: ", valid.message()));
    }
    if (record.name() == kDefaultDialect || wanted.contains(record.name())) {
      return absl::InvalidArgumentError(StrCat(
          "config dialects[", i, "]: name \"", record.name(),
          "\" is declared twice or is the built-in dialect"));
    }
    wanted.emplace(record.name(), std::move(record));
  }
  const int64_t now = Micros(clock_->Now());
  std::vector<std::string> gone;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [name, record] : wanted) {
      auto it = dialects_.find(name);
      if (it != dialects_.end()) {
        const DialectRecord& current = it->second;
        record.set_create_time_micros(current.create_time_micros());
        record.set_update_time_micros(current.update_time_micros());
        if (current.SerializeAsString() == record.SerializeAsString()) continue;
      } else {
        record.set_create_time_micros(now);
      }
      record.set_update_time_micros(now);
      RETURN_IF_ERROR(Store(record));
    }
    for (const auto& [name, record] : dialects_) {
      if (record.is_static() && !wanted.contains(name)) gone.push_back(name);
    }
  }
  // `in_use` may take the registry's lock: call it without holding ours.
  std::vector<size_t> users;
  for (const std::string& name : gone) users.push_back(in_use(name));
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < gone.size(); ++i) {
    auto it = dialects_.find(gone[i]);
    if (it == dialects_.end()) continue;
    if (users[i] == 0) {
      storage::WriteBatch batch;
      batch.Delete(storage::Column::kDialects, gone[i]);
      RETURN_IF_ERROR(store_->Write(batch));
      dialects_.erase(it);
      generation_.fetch_add(1, std::memory_order_acq_rel);
    } else {
      DialectRecord kept = it->second;
      kept.set_is_static(false);
      kept.set_update_time_micros(now);
      RETURN_IF_ERROR(Store(kept));
    }
  }
  return absl::OkStatus();
}

}  // namespace webhooks::core
