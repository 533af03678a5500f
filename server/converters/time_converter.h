// Timestamps: stored as microseconds since the epoch, sent as
// google.protobuf.Timestamp. Zero means unset.
#ifndef WEBHOOKS_SERVER_CONVERTERS_TIME_CONVERTER_H_
#define WEBHOOKS_SERVER_CONVERTERS_TIME_CONVERTER_H_

#include <cstdint>

#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/time_util.h"

namespace webhooks::server {

inline void SetTimestamp(int64_t micros, google::protobuf::Timestamp* out) {
  if (micros == 0) return;
  *out = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(micros);
}

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_CONVERTERS_TIME_CONVERTER_H_
