// Dialects and principals between the API (webhooks.v1) and the domain.
#ifndef WEBHOOKS_SERVER_CONVERTERS_DIALECT_CONVERTER_H_
#define WEBHOOKS_SERVER_CONVERTERS_DIALECT_CONVERTER_H_

#include "core/dialect_catalog.h"
#include "webhooks/v1/dialect.pb.h"

namespace webhooks::server {

// The user-settable fields; output-only fields are ignored.
core::DialectRecord DialectFromApi(const v1::Dialect& api);
v1::Dialect DialectToApi(const core::DialectRecord& record);

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_CONVERTERS_DIALECT_CONVERTER_H_
