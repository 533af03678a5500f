// What an HTTP result means for a delivery attempt: its status and message
// (in the seed's words where it has them), whether to retry, and whether the
// subscription must be deactivated (410 Gone).
#ifndef WEBHOOKS_CORE_ATTEMPT_OUTCOME_H_
#define WEBHOOKS_CORE_ATTEMPT_OUTCOME_H_

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "core/http_sender.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::core {

struct Classified {
  bool success = false;
  bool gone = false;       // 410: deactivate, no retry
  bool retryable = false;  // failure worth another attempt
  std::string message;     // "200 OK", "Contacting the remote server ..."
  std::optional<absl::Duration> retry_after;
};

Classified ClassifyResult(const HttpResult& result, absl::Time now);

// Appends `from` to an attempt record's headers, in order.
void CopyHeaders(const HttpHeaders& from,
                 google::protobuf::RepeatedPtrField<internal::HeaderRecord>* to);

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_ATTEMPT_OUTCOME_H_
