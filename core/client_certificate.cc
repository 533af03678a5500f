#include "core/client_certificate.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "common/strings.h"
#include "core/errors.h"

namespace webhooks::core {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::unique_ptr<BIO, BioFree> MemoryBio(std::string_view text) {
  return std::unique_ptr<BIO, BioFree>(
      BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Refuses to prompt for a passphrase: encrypted keys fail to load.
int NoPassphrase(char*, int, int, void*) { return -1; }

absl::Time TimeOf(const ASN1_TIME* t) {
  std::tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return absl::InfinitePast();
  return absl::FromUnixSeconds(static_cast<int64_t>(timegm(&tm)));
}

std::string SubjectOf(X509* cert) {
  std::unique_ptr<BIO, BioFree> out(BIO_new(BIO_s_mem()));
  if (out == nullptr) return "";
  X509_NAME_print_ex(out.get(), X509_get_subject_name(cert), 0,
                     XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, size > 0 ? static_cast<size_t>(size) : 0);
}

}  // namespace

absl::StatusOr<ClientCertificateInfo> CheckClientCertificate(
    std::string_view field, std::string_view certificate_pem,
    std::string_view private_key_pem) {
  const std::string cert_field = StrCat(field, ".certificate_pem");
  const std::string key_field = StrCat(field, ".private_key_pem");
  if (certificate_pem.empty()) return error::RequiredField(cert_field);
  if (private_key_pem.empty()) return error::RequiredField(key_field);
  if (certificate_pem.size() > kMaxCertificateChainBytes) {
    return error::FieldTooLong(cert_field, kMaxCertificateChainBytes);
  }
  if (private_key_pem.size() > kMaxPrivateKeyBytes) {
    return error::FieldTooLong(key_field, kMaxPrivateKeyBytes);
  }
  if (!absl::StrContains(AsAbsl(certificate_pem), "-----BEGIN CERTIFICATE-----")) {
    return error::InvalidField(cert_field, "holds no PEM certificate");
  }
  // Every certificate in the chain must parse, not only the first.
  std::unique_ptr<X509, X509Free> leaf;
  {
    auto bio = MemoryBio(certificate_pem);
    for (int index = 0;; ++index) {
      std::unique_ptr<X509, X509Free> cert(
          PEM_read_bio_X509(bio.get(), nullptr, &NoPassphrase, nullptr));
      if (cert == nullptr) {
        const unsigned long err = ERR_peek_last_error();
        ERR_clear_error();
        if (index > 0 && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) break;
        return error::InvalidField(
            cert_field, StrCat("certificate ", index + 1, " is not valid PEM"));
      }
      if (index == 0) leaf = std::move(cert);
    }
  }
  std::unique_ptr<EVP_PKEY, KeyFree> key;
  {
    auto bio = MemoryBio(private_key_pem);
    key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, &NoPassphrase, nullptr));
    ERR_clear_error();
  }
  if (key == nullptr) {
    return error::InvalidField(
        key_field, "is not an unencrypted PEM private key");
  }
  if (X509_check_private_key(leaf.get(), key.get()) != 1) {
    ERR_clear_error();
    return error::InvalidField(
        key_field, "does not belong to the first certificate of the chain");
  }
  ClientCertificateInfo info;
  info.subject = SubjectOf(leaf.get());
  info.not_before = TimeOf(X509_get0_notBefore(leaf.get()));
  info.not_after = TimeOf(X509_get0_notAfter(leaf.get()));
  return info;
}

absl::Status CheckNotExpired(std::string_view field,
                             const ClientCertificateInfo& info,
                             absl::Time now) {
  if (info.not_after < now) {
    return error::InvalidField(
        StrCat(field, ".certificate_pem"),
        StrCat("expired at ",
               absl::FormatTime(absl::RFC3339_sec, info.not_after,
                                absl::UTCTimeZone())));
  }
  return absl::OkStatus();
}

absl::Status CheckNewClientCertificate(std::string_view field,
                                       std::string_view certificate_pem,
                                       std::string_view private_key_pem,
                                       absl::Time now) {
  if (certificate_pem.empty() && private_key_pem.empty()) {
    return absl::OkStatus();
  }
  absl::StatusOr<ClientCertificateInfo> info =
      CheckClientCertificate(field, certificate_pem, private_key_pem);
  if (!info.ok()) return info.status();
  return CheckNotExpired(field, *info, now);
}

}  // namespace webhooks::core
