// A receiver's HTTP response as the curl sender handles it: header lines
// (split at '\n', as curl passes them with their line ends) and a body,
// collected within the caps, classified (status, Retry-After), and recorded
// as the dispatcher records an attempt. The receiver is untrusted: whatever
// it sends, the attempt record must store and load back, and its API form
// must reach clients (proto3 strings are UTF-8 only).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "core/attempt_outcome.h"
#include "core/http_sender.h"
#include "delivery/transfer.h"
#include "fuzz/fuzz_check.h"
#include "server/converters/delivery_converter.h"
#include "webhooks/internal/records.pb.h"

namespace core = webhooks::core;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // Headers, then "\r\n\r\n", then the body in chunks of 7 bytes.
  size_t split = input.find("\r\n\r\n");
  std::string_view head = input.substr(0, split);
  std::string_view body =
      split == std::string_view::npos ? std::string_view() : input.substr(split + 4);

  webhooks::delivery::ResponseCollector collector(64, 256);
  while (!head.empty()) {
    size_t end = head.find('\n');
    end = end == std::string_view::npos ? head.size() : end + 1;
    collector.OnHeaderLine(head.substr(0, end));
    head.remove_prefix(end);
  }
  collector.OnHeaderLine("\r\n");
  bool more = true;
  while (more && !body.empty()) {
    const size_t n = body.size() < 7 ? body.size() : 7;
    more = collector.OnBody(body.substr(0, n));
    body.remove_prefix(n);
  }
  FUZZ_CHECK(collector.status_code() >= 0 && collector.status_code() <= 999);

  core::HttpResult result;
  result.outcome = core::HttpResult::Outcome::kResponse;
  collector.MoveInto(&result);
  FUZZ_CHECK(result.body.size() <= 64);
  const core::Classified c =
      core::ClassifyResult(result, absl::FromUnixSeconds(1700000000));
  if (c.retry_after.has_value()) {
    FUZZ_CHECK(*c.retry_after >= absl::ZeroDuration());
  }

  // As DeliveryDispatcher records an attempt.
  webhooks::internal::AttemptRecord attempt;
  attempt.set_status(c.success ? webhooks::internal::AttemptRecord::SUCCESSFUL
                               : webhooks::internal::AttemptRecord::FAILED);
  attempt.set_message(c.message);
  attempt.set_response_status(result.status_code);
  attempt.set_response_reason(result.reason);
  for (const auto& [name, value] : result.headers) {
    webhooks::internal::HeaderRecord* header = attempt.add_response_headers();
    header->set_name(name);
    header->set_value(value);
  }
  attempt.set_response_body(result.body);
  webhooks::internal::AttemptRecord loaded;
  FUZZ_CHECK(loaded.ParseFromString(attempt.SerializeAsString()));
  const webhooks::v1::DeliveryAttempt api = webhooks::server::AttemptToApi(loaded);
  webhooks::v1::DeliveryAttempt received;
  FUZZ_CHECK(received.ParseFromString(api.SerializeAsString()));
  return 0;
}
