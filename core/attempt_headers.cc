#include "core/attempt_headers.h"

#include <string>

#include "absl/time/time.h"
#include "core/attempt_outcome.h"
#include "core/http_sender.h"
#include "core/request_renderer.h"

namespace webhooks::core {

void FillRequestHeaders(internal::AttemptRecord& attempt) {
  if (!attempt.has_request_headers_reference()) return;
  HttpHeaders headers;
  AppendRequestHeaders(
      attempt.request_headers_reference(), attempt.delivery_id(),
      absl::ToUnixSeconds(absl::FromUnixMicros(attempt.create_time_micros())),
      std::string(kRedacted), headers);
  attempt.clear_request_headers();
  CopyHeaders(headers, attempt.mutable_request_headers());
  attempt.clear_request_headers_reference();
}

}  // namespace webhooks::core
