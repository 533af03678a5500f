// An attempt's request headers are stored by what they were made of
// (internal::RequestHeadersReference: the content type, user agent and
// dialect headers, and whether the request was signed), not one by one:
// webhook-id is the attempt's delivery id and webhook-timestamp its create
// time, both in the record already. That takes about a third off each
// attempt record. Reading an attempt rebuilds its headers with the same
// code that rendered them (AppendRequestHeaders), the signature redacted;
// records written before the reference existed keep their headers as
// stored.
//
//   RenderRequest(delivery, event, dialect, signer, now,
//                 attempt.mutable_request_headers_reference());
//   ...
//   FillRequestHeaders(attempt);  // request_headers as sent
#ifndef WEBHOOKS_CORE_ATTEMPT_HEADERS_H_
#define WEBHOOKS_CORE_ATTEMPT_HEADERS_H_

#include "webhooks/internal/records.pb.h"

namespace webhooks::core {

// Rebuilds the request_headers of an attempt that stores them by reference
// and drops the reference, so that filling twice changes nothing. Leaves
// other attempts alone.
void FillRequestHeaders(internal::AttemptRecord& attempt);

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_ATTEMPT_HEADERS_H_
