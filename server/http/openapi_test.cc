#include "server/http/openapi.h"

#include <fstream>
#include <sstream>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "server/http/http_api.h"

namespace webhooks::server {
namespace {

namespace pb = google::protobuf;

// Every unary method of every served service has its POST path; streaming
// ones have none.
void ExpectEveryUnaryRpc(const std::string& json) {
  pb::Struct document;
  ASSERT_TRUE(pb::util::JsonStringToMessage(json, &document).ok());
  const auto& paths = document.fields().at("paths").struct_value().fields();
  size_t unary = 0;
  for (const std::string& name : HttpApiServices()) {
    const pb::ServiceDescriptor* service =
        pb::DescriptorPool::generated_pool()->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i) {
      const pb::MethodDescriptor* method = service->method(i);
      const std::string path = "/" + name + "/" + method->name();
      if (method->server_streaming()) {
        EXPECT_EQ(paths.count(path), 0u) << path;
        continue;
      }
      ++unary;
      ASSERT_EQ(paths.count(path), 1u) << path;
      const auto& post =
          paths.at(path).struct_value().fields().at("post").struct_value();
      EXPECT_EQ(post.fields().count("requestBody"), 1u) << path;
    }
  }
  EXPECT_EQ(paths.size(), unary);
  EXPECT_EQ(HttpApiServices().size(), 6u);
}

TEST(OpenApiTest, ListsEveryUnaryRpcOfEveryService) {
  absl::StatusOr<std::string> json = OpenApiJson(HttpApiServices());
  ASSERT_TRUE(json.ok()) << json.status();
  ExpectEveryUnaryRpc(*json);
  // Deterministic: the build's file does not change from run to run.
  EXPECT_EQ(*OpenApiJson(HttpApiServices()), *json);
}

TEST(OpenApiTest, TheBuildWritesTheSameDocument) {
  std::ifstream in(WEBHOOKD_OPENAPI_JSON);
  ASSERT_TRUE(in) << WEBHOOKD_OPENAPI_JSON;
  std::stringstream file;
  file << in.rdbuf();
  ExpectEveryUnaryRpc(file.str());
  EXPECT_EQ(file.str(), *OpenApiJson(HttpApiServices()) + "\n");
}

TEST(OpenApiTest, UnknownServiceIsNotFound) {
  EXPECT_EQ(OpenApiJson({"webhooks.v1.NoSuchService"}).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace webhooks::server
