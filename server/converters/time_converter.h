// Timestamps: stored as microseconds since the epoch, sent as
// google.protobuf.Timestamp. Zero means unset.
#ifndef WEBHOOKS_SERVER_CONVERTERS_TIME_CONVERTER_H_
#define WEBHOOKS_SERVER_CONVERTERS_TIME_CONVERTER_H_

#include <cstdint>

#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/time_util.h"

namespace webhooks::server {

// Sets `message`'s timestamp field (through its mutable accessor) unless
// `micros` is 0, so unset times stay unset on the wire:
//   SetTimestamp(record.create_time_micros(), api, &v1::Dialect::mutable_create_time);
template <typename Message>
void SetTimestamp(int64_t micros, Message& message,
                  google::protobuf::Timestamp* (Message::*mutable_field)()) {
  if (micros == 0) return;
  *(message.*mutable_field)() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(micros);
}

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_CONVERTERS_TIME_CONVERTER_H_
