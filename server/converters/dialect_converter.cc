#include "server/converters/dialect_converter.h"

#include "server/converters/subscription_converter.h"
#include "server/converters/time_converter.h"

namespace webhooks::server {

core::DialectRecord DialectFromApi(const v1::Dialect& api) {
  core::DialectRecord record;
  record.set_name(api.name());
  record.set_representation(api.representation());
  record.set_http_method(api.http_method());
  record.set_content_type(api.content_type());
  record.set_user_agent(api.user_agent());
  *record.mutable_headers() = api.headers();
  record.set_signing(api.signing());
  record.set_envelope(api.envelope());
  if (api.has_client_certificate()) {
    record.set_client_certificate_pem(
        api.client_certificate().certificate_pem());
    record.set_client_key_pem(api.client_certificate().private_key_pem());
  }
  return record;
}

v1::Dialect DialectToApi(const core::DialectRecord& record) {
  v1::Dialect api;
  api.set_name(record.name());
  api.set_representation(record.representation());
  api.set_http_method(record.http_method());
  api.set_content_type(record.content_type());
  api.set_user_agent(record.user_agent());
  *api.mutable_headers() = record.headers();
  api.set_signing(static_cast<v1::Dialect::Signing>(record.signing()));
  api.set_envelope(static_cast<v1::Dialect::Envelope>(record.envelope()));
  if (!record.client_certificate_pem().empty()) {
    *api.mutable_client_certificate() = ClientCertificateToApi(
        record.client_certificate_pem(), record.client_key_pem());
  }
  api.set_builtin(record.builtin());
  api.set_static_(record.is_static());
  SetTimestamp(record.create_time_micros(), api,
               &v1::Dialect::mutable_create_time);
  SetTimestamp(record.update_time_micros(), api,
               &v1::Dialect::mutable_update_time);
  return api;
}

}  // namespace webhooks::server
