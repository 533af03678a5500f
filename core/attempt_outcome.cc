#include "core/attempt_outcome.h"

#include "absl/strings/ascii.h"
#include "common/strings.h"
#include "core/retry_policy.h"

namespace webhooks::core {

Classified ClassifyResult(const HttpResult& result, absl::Time now) {
  Classified c;
  switch (result.outcome) {
    case HttpResult::Outcome::kResponse: {
      c.message = result.reason.empty()
                      ? StrCat(result.status_code)
                      : StrCat(result.status_code, " ", result.reason);
      if (result.status_code >= 200 && result.status_code < 300) {
        c.success = true;
      } else if (result.status_code == 410) {
        c.gone = true;
      } else {
        c.retryable = true;
        for (const auto& [name, value] : result.headers) {
          if (absl::AsciiStrToLower(name) == "retry-after") {
            c.retry_after = ParseRetryAfter(value, now);
          }
        }
      }
      return c;
    }
    case HttpResult::Outcome::kTimeout:
      c.retryable = true;
      c.message = StrCat("The remote server did not answer in time: ",
                         result.error);
      return c;
    case HttpResult::Outcome::kConnectError:
      c.retryable = true;
      c.message = StrCat(
          "Contacting the remote server experienced an unexpected error. ",
          result.error);
      return c;
    case HttpResult::Outcome::kTlsError:
      c.retryable = true;
      c.message = StrCat("The TLS connection to the remote server failed: ",
                         result.error);
      return c;
    case HttpResult::Outcome::kRefusedAddress:
      c.retryable = true;
      c.message = StrCat("Refused to connect: ", result.error);
      return c;
    case HttpResult::Outcome::kRejected:
      c.retryable = true;
      c.message = StrCat("The request was not sent: ", result.error);
      return c;
  }
  return c;
}

void CopyHeaders(const HttpHeaders& from,
                 google::protobuf::RepeatedPtrField<internal::HeaderRecord>* to) {
  for (const auto& [name, value] : from) {
    internal::HeaderRecord* header = to->Add();
    header->set_name(name);
    header->set_value(value);
  }
}

}  // namespace webhooks::core
