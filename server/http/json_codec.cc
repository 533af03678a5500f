#include "server/http/json_codec.h"

#include <memory>

#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "common/strings.h"

namespace webhooks::server {
namespace {

namespace pb = google::protobuf;

std::unique_ptr<pb::Message> NewMessage(const pb::Descriptor* type) {
  const pb::Message* prototype =
      pb::MessageFactory::generated_factory()->GetPrototype(type);
  if (prototype == nullptr) return nullptr;
  return std::unique_ptr<pb::Message>(prototype->New());
}

}  // namespace

absl::StatusOr<std::string> JsonToBinary(const pb::Descriptor* type,
                                         std::string_view json) {
  std::unique_ptr<pb::Message> message = NewMessage(type);
  if (message == nullptr) {
    return absl::InternalError(StrCat("no message type ", type->full_name()));
  }
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const std::string_view text = json.empty() ? std::string_view("{}") : json;
  const auto parsed = pb::util::JsonStringToMessage(
      pb::StringPiece(text.data(), text.size()), message.get(), options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        StrCat("request: could not be parsed as ", type->full_name(), ": ",
               std::string_view(parsed.message().data(),
                                parsed.message().size())));
  }
  std::string bytes;
  if (!message->SerializeToString(&bytes)) {
    return absl::InvalidArgumentError(
        StrCat("request: could not be serialized as ", type->full_name()));
  }
  return bytes;
}

absl::StatusOr<std::string> BinaryToJson(const pb::Descriptor* type,
                                         std::string_view bytes) {
  std::unique_ptr<pb::Message> message = NewMessage(type);
  if (message == nullptr ||
      !message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InternalError(
        StrCat("response: could not be parsed as ", type->full_name()));
  }
  pb::util::JsonPrintOptions options;
  std::string json;
  const auto printed = pb::util::MessageToJsonString(*message, &json, options);
  if (!printed.ok()) {
    return absl::InternalError(
        StrCat("response: could not be printed as JSON: ",
               std::string_view(printed.message().data(),
                                printed.message().size())));
  }
  return json;
}

}  // namespace webhooks::server
