#include "core/webhook_signature.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "common/random.h"
#include "core/signing_secret.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace webhooks::core {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

// The shared vectors every SDK checks too.
Struct LoadVectors() {
  std::ifstream in(WEBHOOKS_SOURCE_DIR "/testdata/webhook_signatures.json");
  std::stringstream text;
  text << in.rdbuf();
  Struct vectors;
  EXPECT_TRUE(
      google::protobuf::util::JsonStringToMessage(text.str(), &vectors).ok());
  return vectors;
}

std::string Str(const Struct& s, const char* key) {
  return s.fields().at(key).string_value();
}
int64_t Num(const Struct& s, const char* key) {
  return static_cast<int64_t>(s.fields().at(key).number_value());
}

TEST(WebhookSignatureTest, MatchesSharedVectors) {
  Struct vectors = LoadVectors();
  const auto& valid = vectors.fields().at("valid").list_value().values();
  ASSERT_GE(valid.size(), 4);
  for (const Value& v : valid) {
    const Struct& c = v.struct_value();
    absl::StatusOr<std::string> signature =
        SignV1(Str(c, "secret"), Str(c, "msg_id"), Num(c, "timestamp"),
               Str(c, "body"));
    ASSERT_TRUE(signature.ok()) << signature.status();
    EXPECT_EQ(*signature, Str(c, "signature")) << Str(c, "msg_id");
    EXPECT_TRUE(VerifyV1(Str(c, "secret"), Str(c, "msg_id"),
                         Num(c, "timestamp"), Str(c, "body"),
                         Str(c, "signature")));
  }
  for (const Value& v : vectors.fields().at("invalid").list_value().values()) {
    const Struct& c = v.struct_value();
    EXPECT_FALSE(VerifyV1(Str(c, "secret"), Str(c, "msg_id"),
                          Num(c, "timestamp"), Str(c, "body"),
                          Str(c, "signature")))
        << Str(c, "why");
  }
  const Struct& rotation = vectors.fields().at("rotation").struct_value();
  absl::StatusOr<std::string> header = SignatureHeader(
      {Str(rotation, "new_secret"), Str(rotation, "old_secret")},
      Str(rotation, "msg_id"), Num(rotation, "timestamp"), Str(rotation, "body"));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(*header, Str(rotation, "signature"));
  for (const char* key : {"new_secret", "old_secret"}) {
    EXPECT_TRUE(VerifyV1(Str(rotation, key), Str(rotation, "msg_id"),
                         Num(rotation, "timestamp"), Str(rotation, "body"),
                         *header));
  }
}

// An independent implementation: the openssl command line.
std::string OpensslSignature(const std::string& secret, const std::string& id,
                             int64_t timestamp, const std::string& body) {
  std::string key = *SigningKey(secret);
  std::string hex;
  for (unsigned char c : key) {
    char buf[3];
    std::snprintf(buf, sizeof(buf), "%02x", c);
    hex += buf;
  }
  char path[] = "/tmp/webhook_sig_XXXXXX";
  int fd = mkstemp(path);
  std::string content = id + "." + std::to_string(timestamp) + "." + body;
  EXPECT_EQ(write(fd, content.data(), content.size()),
            static_cast<ssize_t>(content.size()));
  close(fd);
  std::string command = "openssl dgst -sha256 -mac HMAC -macopt hexkey:" + hex +
                        " -binary " + path + " | base64 -w0";
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  char buf[256];
  while (fgets(buf, sizeof(buf), pipe) != nullptr) out += buf;
  pclose(pipe);
  unlink(path);
  return "v1," + out;
}

TEST(WebhookSignatureTest, AgreesWithOpensslOnRandomInputs) {
  SeededRandom random(99);
  for (int i = 0; i < 5; ++i) {
    std::string secret = NewSigningSecret(random);
    std::string body = absl::Base64Escape(random.Bytes(100 + 37 * i)) + "\n{}";
    std::string id = NewId("dlv_", 1700000000000 + i, random);
    absl::StatusOr<std::string> ours = SignV1(secret, id, 1700000000 + i, body);
    ASSERT_TRUE(ours.ok());
    EXPECT_EQ(*ours, OpensslSignature(secret, id, 1700000000 + i, body));
  }
}

TEST(WebhookSignatureTest, RejectsMalformedSecret) {
  EXPECT_EQ(SignV1("nope", "id", 1, "b").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(VerifyV1("nope", "id", 1, "b", "v1,xyz"));
}

}  // namespace
}  // namespace webhooks::core
