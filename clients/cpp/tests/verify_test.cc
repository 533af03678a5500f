#include "webhooks/client/verify.h"

#include <fstream>
#include <sstream>
#include <string>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace webhooks::client {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

// The Standard Webhooks vectors every SDK checks.
Struct LoadVectors() {
  std::ifstream in(WEBHOOKS_SOURCE_DIR "/testdata/webhook_signatures.json");
  std::stringstream text;
  text << in.rdbuf();
  Struct vectors;
  EXPECT_TRUE(
      google::protobuf::util::JsonStringToMessage(text.str(), &vectors).ok())
      << "cannot read testdata/webhook_signatures.json";
  return vectors;
}

std::string Str(const Struct& s, const char* key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? "" : it->second.string_value();
}
int64_t Num(const Struct& s, const char* key) {
  auto it = s.fields().find(key);
  return it == s.fields().end()
             ? 0
             : static_cast<int64_t>(it->second.number_value());
}

HeaderList HeadersOf(const Struct& v) {
  return {{"webhook-id", Str(v, "msg_id")},
          {"webhook-timestamp", std::to_string(Num(v, "timestamp"))},
          {"webhook-signature", Str(v, "signature")}};
}

VerifyOptions At(absl::Time now) {
  VerifyOptions options;
  options.now = now;
  return options;
}
absl::Time Sent(const Struct& v) {
  return absl::FromUnixSeconds(Num(v, "timestamp"));
}

const Struct& Valid(const Struct& vectors, int i) {
  return vectors.fields().at("valid").list_value().values(i).struct_value();
}

TEST(VerifyTest, AcceptsEveryValidVector) {
  Struct vectors = LoadVectors();
  const auto& valid = vectors.fields().at("valid").list_value().values();
  ASSERT_GE(valid.size(), 4);
  for (const Value& value : valid) {
    const Struct& v = value.struct_value();
    EXPECT_TRUE(
        Verify(Str(v, "secret"), HeadersOf(v), Str(v, "body"), At(Sent(v)))
            .ok())
        << Str(v, "msg_id");
    absl::StatusOr<std::string> signature =
        Sign(Str(v, "secret"), Str(v, "msg_id"), Num(v, "timestamp"),
             Str(v, "body"));
    ASSERT_TRUE(signature.ok()) << signature.status();
    EXPECT_EQ(*signature, Str(v, "signature"));
  }
}

TEST(VerifyTest, RejectsEveryInvalidVector) {
  Struct vectors = LoadVectors();
  const auto& invalid = vectors.fields().at("invalid").list_value().values();
  ASSERT_GE(invalid.size(), 4);
  for (const Value& value : invalid) {
    const Struct& v = value.struct_value();
    absl::Status status =
        Verify(Str(v, "secret"), HeadersOf(v), Str(v, "body"), At(Sent(v)));
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated)
        << Str(v, "why") << ": " << status;
  }
}

TEST(VerifyTest, AcceptsEitherSecretAfterRotation) {
  Struct vectors = LoadVectors();
  const Struct& r = vectors.fields().at("rotation").struct_value();
  for (const char* secret : {"new_secret", "old_secret"}) {
    EXPECT_TRUE(
        Verify(Str(r, secret), HeadersOf(r), Str(r, "body"), At(Sent(r))).ok())
        << secret;
  }
  EXPECT_EQ(Verify(Str(Valid(vectors, 3), "secret"), HeadersOf(r),
                   Str(r, "body"), At(Sent(r)))
                .code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(VerifyTest, ChecksTimestampTolerance) {
  Struct vectors = LoadVectors();
  const absl::Duration tolerance =
      absl::Seconds(Num(vectors, "tolerance_seconds"));
  EXPECT_EQ(tolerance, kDefaultTolerance);
  const Struct& v = Valid(vectors, 0);
  const std::string secret = Str(v, "secret");
  const std::string body = Str(v, "body");
  const absl::Time sent = Sent(v);
  EXPECT_TRUE(Verify(secret, HeadersOf(v), body, At(sent + tolerance)).ok());
  EXPECT_TRUE(Verify(secret, HeadersOf(v), body, At(sent - tolerance)).ok());

  absl::Status stale = Verify(secret, HeadersOf(v), body,
                              At(sent + tolerance + absl::Seconds(1)));
  EXPECT_EQ(stale.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(stale.message(), "webhook-timestamp is too old");
  EXPECT_EQ(
      Verify(secret, HeadersOf(v), body, At(sent + absl::Hours(24))).code(),
      absl::StatusCode::kOutOfRange);
  absl::Status future = Verify(secret, HeadersOf(v), body,
                               At(sent - tolerance - absl::Seconds(1)));
  EXPECT_EQ(future.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(future.message(), "webhook-timestamp is too far in the future");

  VerifyOptions wider = At(sent + absl::Hours(1));
  wider.tolerance = absl::Hours(2);
  EXPECT_TRUE(Verify(secret, HeadersOf(v), body, wider).ok());
  VerifyOptions narrower = At(sent + absl::Minutes(1));
  narrower.tolerance = absl::Seconds(30);
  EXPECT_EQ(Verify(secret, HeadersOf(v), body, narrower).code(),
            absl::StatusCode::kOutOfRange);
  // Without `now` the clock is now: the vector is years old.
  EXPECT_EQ(Verify(secret, HeadersOf(v), body).code(),
            absl::StatusCode::kOutOfRange);
}

TEST(VerifyTest, RejectsMalformedInput) {
  Struct vectors = LoadVectors();
  const Struct& v = Valid(vectors, 0);
  const std::string secret = Str(v, "secret");
  const std::string body = Str(v, "body");
  const VerifyOptions now = At(Sent(v));
  for (int missing = 0; missing < 3; ++missing) {
    HeaderList headers = HeadersOf(v);
    headers.erase(headers.begin() + missing);
    EXPECT_EQ(Verify(secret, headers, body, now).code(),
              absl::StatusCode::kInvalidArgument)
        << "without header " << missing;
  }
  HeaderList headers = HeadersOf(v);
  headers[1].second = "yesterday";
  EXPECT_EQ(Verify(secret, headers, body, now).code(),
            absl::StatusCode::kInvalidArgument);
  headers[1].second = std::to_string(Num(v, "timestamp")) + " ";
  EXPECT_EQ(Verify(secret, headers, body, now).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Verify("whsec_***", HeadersOf(v), body, now).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Verify("whsec_", HeadersOf(v), body, now).code(),
            absl::StatusCode::kInvalidArgument);
  const std::string good = Str(v, "signature");
  for (const std::string& signature :
       {std::string("v1,not-base64!"), std::string("v1"), std::string("v1,"),
        "v1," + good.substr(3, 7), "V1," + good.substr(3)}) {
    HeaderList h = HeadersOf(v);
    h[2].second = signature;
    EXPECT_EQ(Verify(secret, h, body, now).code(),
              absl::StatusCode::kUnauthenticated)
        << signature;
  }
  // A valid entry among others that do not match verifies.
  HeaderList several = HeadersOf(v);
  several[2].second = "v1a,xyz v1,AAAA " + good + " v2,foo";
  EXPECT_TRUE(Verify(secret, several, body, now).ok());
  // Header names in any case, the secret without its prefix, the struct form.
  HeaderList upper = {
      {"Webhook-Id", Str(v, "msg_id")},
      {"WEBHOOK-TIMESTAMP", std::to_string(Num(v, "timestamp"))},
      {"Webhook-Signature", good}};
  EXPECT_TRUE(Verify(secret.substr(6), upper, body, now).ok());
  const std::string timestamp = std::to_string(Num(v, "timestamp"));
  EXPECT_TRUE(Verify(secret,
                     SignatureHeaders{Str(v, "msg_id"), timestamp, good}, body,
                     now)
                  .ok());
  EXPECT_EQ(Sign("not base64!", "id", 1, "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace webhooks::client
