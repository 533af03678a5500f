#include "server/http/openapi.h"

#include <map>
#include <optional>
#include <memory>
#include <set>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/type_resolver_util.h"
#include "common/strings.h"

namespace webhooks::server {
namespace {

namespace pb = google::protobuf;
using pb::FieldDescriptor;

pb::Value Str(std::string_view s) {
  pb::Value v;
  v.set_string_value(std::string(s));
  return v;
}

pb::Value Bool(bool b) {
  pb::Value v;
  v.set_bool_value(b);
  return v;
}

// An object built from (key, value) pairs.
pb::Value Obj(std::initializer_list<std::pair<std::string, pb::Value>> fields) {
  pb::Value v;
  auto* s = v.mutable_struct_value()->mutable_fields();
  for (const auto& [key, value] : fields) (*s)[key] = value;
  return v;
}

pb::Value& Field(pb::Value& object, const std::string& key) {
  return (*object.mutable_struct_value()->mutable_fields())[key];
}

pb::Value Ref(const pb::Descriptor* message) {
  return Obj({{"$ref", Str(StrCat("#/components/schemas/", message->full_name()))}});
}

// The schema of a well-known type, or nullopt.
std::optional<pb::Value> WellKnown(const pb::Descriptor* m) {
  const std::string& name = m->full_name();
  if (name == "google.protobuf.Timestamp") {
    return Obj({{"type", Str("string")}, {"format", Str("date-time")}});
  }
  if (name == "google.protobuf.Duration") {
    return Obj({{"type", Str("string")},
                {"description", Str("seconds with an s suffix: \"1.5s\"")}});
  }
  if (name == "google.protobuf.FieldMask") {
    return Obj({{"type", Str("string")},
                {"description", Str("comma-separated lowerCamelCase paths")}});
  }
  if (name == "google.protobuf.Empty" || name == "google.protobuf.Struct") {
    return Obj({{"type", Str("object")}});
  }
  if (name == "google.protobuf.Value") return Obj({});
  if (name == "google.protobuf.ListValue") {
    return Obj({{"type", Str("array")}, {"items", Obj({})}});
  }
  if (name == "google.protobuf.Any") {
    return Obj({{"type", Str("object")},
                {"properties", Obj({{"@type", Obj({{"type", Str("string")}})}})}});
  }
  if (m->file()->name() == "google/protobuf/wrappers.proto") {
    return std::nullopt;  // handled by the caller: the wrapped type
  }
  return std::nullopt;
}

class SchemaBuilder {
 public:
  // The schema of a value of `field`'s type (ignoring repetition).
  pb::Value Single(const FieldDescriptor* field) {
    switch (field->type()) {
      case FieldDescriptor::TYPE_DOUBLE:
        return Obj({{"type", Str("number")}, {"format", Str("double")}});
      case FieldDescriptor::TYPE_FLOAT:
        return Obj({{"type", Str("number")}, {"format", Str("float")}});
      case FieldDescriptor::TYPE_INT32:
      case FieldDescriptor::TYPE_SINT32:
      case FieldDescriptor::TYPE_SFIXED32:
        return Obj({{"type", Str("integer")}, {"format", Str("int32")}});
      case FieldDescriptor::TYPE_UINT32:
      case FieldDescriptor::TYPE_FIXED32:
        return Obj({{"type", Str("integer")}, {"format", Str("int64")}});
      case FieldDescriptor::TYPE_INT64:
      case FieldDescriptor::TYPE_SINT64:
      case FieldDescriptor::TYPE_SFIXED64:
      case FieldDescriptor::TYPE_UINT64:
      case FieldDescriptor::TYPE_FIXED64:
        return Obj({{"type", Str("string")}, {"format", Str("int64")}});
      case FieldDescriptor::TYPE_BOOL:
        return Obj({{"type", Str("boolean")}});
      case FieldDescriptor::TYPE_STRING:
        return Obj({{"type", Str("string")}});
      case FieldDescriptor::TYPE_BYTES:
        return Obj({{"type", Str("string")}, {"format", Str("byte")}});
      case FieldDescriptor::TYPE_ENUM: {
        pb::Value values;
        for (int i = 0; i < field->enum_type()->value_count(); ++i) {
          *values.mutable_list_value()->add_values() =
              Str(field->enum_type()->value(i)->name());
        }
        return Obj({{"type", Str("string")}, {"enum", values}});
      }
      case FieldDescriptor::TYPE_MESSAGE:
      case FieldDescriptor::TYPE_GROUP:
        return Message(field->message_type());
    }
    return Obj({});
  }

  // A $ref to `m`'s schema (added once), or a well-known type's schema.
  pb::Value Message(const pb::Descriptor* m) {
    if (std::optional<pb::Value> known = WellKnown(m)) return *known;
    if (m->file()->name() == "google/protobuf/wrappers.proto") {
      return Single(m->FindFieldByName("value"));
    }
    if (!seen_.insert(m->full_name()).second) return Ref(m);
    pb::Value properties = Obj({});
    for (int i = 0; i < m->field_count(); ++i) {
      const FieldDescriptor* f = m->field(i);
      pb::Value schema;
      if (f->is_map()) {
        schema = Obj({{"type", Str("object")},
                      {"additionalProperties",
                       Single(f->message_type()->FindFieldByName("value"))}});
      } else if (f->is_repeated()) {
        schema = Obj({{"type", Str("array")}, {"items", Single(f)}});
      } else {
        schema = Single(f);
      }
      Field(properties, f->json_name()) = schema;
    }
    schemas_[m->full_name()] =
        Obj({{"type", Str("object")}, {"properties", properties}});
    return Ref(m);
  }

  const std::map<std::string, pb::Value>& schemas() const { return schemas_; }

 private:
  std::set<std::string> seen_;
  std::map<std::string, pb::Value> schemas_;
};

pb::Value JsonContent(pb::Value schema) {
  return Obj({{"application/json", Obj({{"schema", std::move(schema)}})}});
}

pb::Value ConnectErrorSchema() {
  pb::Value codes;
  for (const char* code :
       {"canceled", "unknown", "invalid_argument", "deadline_exceeded",
        "not_found", "already_exists", "permission_denied",
        "resource_exhausted", "failed_precondition", "aborted",
        "out_of_range", "unimplemented", "internal", "unavailable",
        "data_loss", "unauthenticated"}) {
    *codes.mutable_list_value()->add_values() = Str(code);
  }
  pb::Value detail = Obj(
      {{"type", Str("object")},
       {"properties",
        Obj({{"type", Obj({{"type", Str("string")}})},
             {"value", Obj({{"type", Str("string")}, {"format", Str("byte")}})},
             {"debug", Obj({})}})}});
  return Obj({{"type", Str("object")},
              {"description", Str("A Connect error (connectrpc.com/docs/protocol)")},
              {"properties",
               Obj({{"code", Obj({{"type", Str("string")}, {"enum", codes}})},
                    {"message", Obj({{"type", Str("string")}})},
                    {"details", Obj({{"type", Str("array")}, {"items", detail}})}})}});
}

// `value` as pretty JSON with object keys sorted (deterministic bytes).
absl::StatusOr<std::string> Print(const pb::Value& value) {
  std::string binary;
  {
    pb::io::StringOutputStream out(&binary);
    pb::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    value.SerializeToCodedStream(&coded);
  }
  std::unique_ptr<pb::util::TypeResolver> resolver(
      pb::util::NewTypeResolverForDescriptorPool(
          "type.googleapis.com", pb::DescriptorPool::generated_pool()));
  pb::util::JsonPrintOptions options;
  options.add_whitespace = true;
  std::string json;
  const auto status = pb::util::BinaryToJsonString(
      resolver.get(), "type.googleapis.com/google.protobuf.Value", binary,
      &json, options);
  if (!status.ok()) {
    return absl::InternalError(StrCat(
        "openapi: ", std::string_view(status.message().data(),
                                      status.message().size())));
  }
  return json;
}

}  // namespace

absl::StatusOr<std::string> OpenApiJson(
    const std::vector<std::string>& services) {
  SchemaBuilder builder;
  pb::Value paths = Obj({});
  pb::Value tags;
  for (const std::string& name : services) {
    const pb::ServiceDescriptor* service =
        pb::DescriptorPool::generated_pool()->FindServiceByName(name);
    if (service == nullptr) {
      return absl::NotFoundError(StrCat("openapi: no service ", name));
    }
    *tags.mutable_list_value()->add_values() =
        Obj({{"name", Str(service->name())},
             {"description", Str(service->full_name())}});
    for (int i = 0; i < service->method_count(); ++i) {
      const pb::MethodDescriptor* method = service->method(i);
      if (method->client_streaming() || method->server_streaming()) continue;
      pb::Value tag_list;
      *tag_list.mutable_list_value()->add_values() = Str(service->name());
      pb::Value post = Obj(
          {{"operationId", Str(StrCat(service->name(), "_", method->name()))},
           {"tags", tag_list},
           {"requestBody",
            Obj({{"required", Bool(true)},
                 {"content", JsonContent(builder.Message(method->input_type()))}})},
           {"responses",
            Obj({{"200", Obj({{"description", Str("OK")},
                              {"content", JsonContent(builder.Message(
                                              method->output_type()))}})},
                 {"default",
                  Obj({{"description",
                        Str("Connect error; the HTTP status follows its code")},
                       {"content", JsonContent(Obj({{"$ref",
                            Str("#/components/schemas/connect.Error")}}))}})}})}});
      Field(paths, StrCat("/", service->full_name(), "/", method->name())) =
          Obj({{"post", post}});
    }
  }
  pb::Value schemas = Obj({});
  for (const auto& [name, schema] : builder.schemas()) Field(schemas, name) = schema;
  Field(schemas, "connect.Error") = ConnectErrorSchema();
  pb::Value no_scopes;
  no_scopes.mutable_list_value();
  pb::Value security;
  *security.mutable_list_value()->add_values() = Obj({{"bearer", no_scopes}});
  pb::Value document = Obj(
      {{"openapi", Str("3.0.3")},
       {"info",
        Obj({{"title", Str("webhookd JSON API")},
             {"version", Str("v1")},
             {"description",
              Str("Every unary RPC of webhookd's gRPC services as JSON over "
                  "HTTP, following the Connect protocol: POST "
                  "/<package>.<Service>/<Method> with Content-Type "
                  "application/json and the request message as JSON. "
                  "Server-streaming methods (WatchOutcomes) use Connect "
                  "streaming (application/connect+json) and are not listed.")}})},
       {"tags", tags},
       {"paths", paths},
       {"security", security},
       {"components",
        Obj({{"schemas", schemas},
             {"securitySchemes",
              Obj({{"bearer", Obj({{"type", Str("http")},
                                   {"scheme", Str("bearer")}})}})}})}});
  return Print(document);
}

}  // namespace webhooks::server
