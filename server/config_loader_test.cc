#include "server/config_loader.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhooks::server {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// ---- ParseConfig ----------------------------------------------------------

TEST(ParseConfigTest, ParsesTextFormat) {
  absl::StatusOr<v1::ServerConfig> config = ParseConfig(R"pb(
    # comment
    listen_address: "0.0.0.0:7443"
    data_dir: "/var/lib/webhookd"
    tokens { token: "0123456789abcdef" principal: "ops" roles: ADMIN }
    tokens {
      token: "fedcba9876543210"
      principal: "bob"
      roles: [ PUBLISHER, SUBSCRIBER ]
    }
    tls { cert_file: "c.pem" key_file: "k.pem" }
    limits { max_page_size: 10 }
  )pb");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_address(), "0.0.0.0:7443");
  EXPECT_EQ(config->data_dir(), "/var/lib/webhookd");
  ASSERT_EQ(config->tokens_size(), 2);
  EXPECT_EQ(config->tokens(1).roles_size(), 2);
  EXPECT_EQ(config->tls().key_file(), "k.pem");
  EXPECT_EQ(config->limits().max_page_size(), 10);
}

TEST(ParseConfigTest, EmptyTextIsAnEmptyConfig) {
  absl::StatusOr<v1::ServerConfig> config = ParseConfig("");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->tokens_size(), 0);
}

// Lines and columns are one-based; the column is where the parser stood when
// it failed (for an unknown field name, the token after it).
TEST(ParseConfigTest, ErrorsCarryOneBasedLineAndColumn) {
  struct Case {
    std::string_view text;
    std::string_view prefix;
    std::string_view detail;
  };
  for (const Case& c : {
           Case{"listen_address: \"a:1\"\nbogus_field: 3\n",
                "config:2:12: ", "no field named \"bogus_field\""},
           Case{"\n\n  limits { max_page_size: \"ten\" }",
                "config:3:27: ", "Expected integer"},
           Case{"tokens { roles: NOT_A_ROLE }", "config:1:", "NOT_A_ROLE"},
           Case{"tls {\n  cert_file: \"x\"\n",
                "config:3:1: ", "Expected identifier"},
       }) {
    absl::Status status = ParseConfig(c.text).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(std::string(status.message()),
                StartsWith(std::string(c.prefix)))
        << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(std::string(c.detail)))
        << status;
  }
}

// ---- LoadConfigFile -------------------------------------------------------

class LoadConfigFileTest : public ::testing::Test {
 protected:
  std::string WriteFile(std::string_view name, std::string_view text) {
    const char* dir = std::getenv("TEST_TMPDIR");
    std::string path =
        absl::StrCat(dir != nullptr ? dir : "/tmp", "/config_loader_test_",
                     getpid(), "_", std::string(name));
    std::FILE* f = std::fopen(path.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    paths_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const std::string& path : paths_) std::remove(path.c_str());
  }

 private:
  std::vector<std::string> paths_;
};

TEST_F(LoadConfigFileTest, ReadsWholeFile) {
  std::string text = "data_dir: \"/d\"\n";
  // Larger than one read buffer, so the file is read in several chunks.
  for (int i = 0; i < 5000; ++i) {
    absl::StrAppend(&text, "dialects { name: \"d", i, "\" }\n");
  }
  absl::StrAppend(&text, "listen_address: \"127.0.0.1:1\"\n");
  const std::string path = WriteFile("whole.textproto", text);
  absl::StatusOr<v1::ServerConfig> config = LoadConfigFile(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->dialects_size(), 5000);
  EXPECT_EQ(config->listen_address(), "127.0.0.1:1");
}

TEST_F(LoadConfigFileTest, MissingFileIsNotFoundNamingThePath) {
  const std::string path = "/nonexistent-dir/webhookd.textproto";
  absl::Status status = LoadConfigFile(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), HasSubstr(path));
}

TEST_F(LoadConfigFileTest, ParseErrorsNameThePathLineAndColumn) {
  const std::string path =
      WriteFile("bad.textproto", "data_dir: \"/d\"\n  x: 1\n");
  absl::Status status = LoadConfigFile(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              StartsWith(absl::StrCat(path, ":2:4: ")));
}

TEST_F(LoadConfigFileTest, DirectoryIsAnError) {
  absl::Status status = LoadConfigFile("/").status();
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("\"/\""));
}

// ---- FinalizeConfig -------------------------------------------------------

v1::ServerConfig WithToken() {
  v1::ServerConfig config;
  v1::ApiToken* token = config.add_tokens();
  token->set_token("0123456789abcdef");
  token->set_principal("ops");
  token->add_roles(v1::ADMIN);
  return config;
}

TEST(FinalizeConfigTest, FillsDefaults) {
  v1::ServerConfig config;
  ASSERT_TRUE(FinalizeConfig(config).ok());
  EXPECT_EQ(config.listen_address(), kDefaultListenAddress);
  EXPECT_EQ(config.data_dir(), kDefaultDataDir);
}

TEST(FinalizeConfigTest, KeepsSetValues) {
  v1::ServerConfig config = WithToken();
  config.set_listen_address("[::]:9000");
  config.set_data_dir("/srv/data");
  ASSERT_TRUE(FinalizeConfig(config).ok());
  EXPECT_EQ(config.listen_address(), "[::]:9000");
  EXPECT_EQ(config.data_dir(), "/srv/data");
}

TEST(FinalizeConfigTest, ListenAddressSyntax) {
  struct Case {
    std::string_view address;
    bool ok;
  };
  for (const Case& c : {
           Case{"0.0.0.0:7443", true},    Case{"example.com:443", true},
           Case{"[::]:0", true},          Case{"[fe80::1%eth0]:65535", true},
           Case{"host:0", true},          Case{"localhost:65536", false},
           Case{"localhost", false},      Case{":7443", false},
           Case{"[]:7443", false},        Case{"::1:7443", false},
           Case{"[::1]7443", false},      Case{"[::1:7443", false},
           Case{"host:", false},          Case{"host:-1", false},
           Case{"host:+80", false},       Case{"host:080000", false},
           Case{"host:80 ", false},       Case{"ho st:80", false},
           Case{"unix:/tmp/sock", false},
       }) {
    v1::ServerConfig config = WithToken();
    config.set_listen_address(std::string(c.address));
    absl::Status status = FinalizeConfig(config);
    if (c.ok) {
      EXPECT_TRUE(status.ok()) << c.address << ": " << status;
    } else {
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.address;
      EXPECT_THAT(std::string(status.message()), StartsWith("listen_address"))
          << status;
    }
  }
}

TEST(FinalizeConfigTest, NegativeLimitsNameTheField) {
  struct Case {
    void (v1::Limits::*set)(int32_t);
    std::string_view field;
  };
  for (const Case& c : {
           Case{&v1::Limits::set_max_site_length, "limits.max_site_length"},
           Case{&v1::Limits::set_max_site_depth, "limits.max_site_depth"},
           Case{&v1::Limits::set_max_type_length, "limits.max_type_length"},
           Case{&v1::Limits::set_max_url_length, "limits.max_url_length"},
           Case{&v1::Limits::set_max_principal_length,
                "limits.max_principal_length"},
           Case{&v1::Limits::set_max_groups, "limits.max_groups"},
           Case{&v1::Limits::set_max_page_size, "limits.max_page_size"},
           Case{&v1::Limits::set_max_subscriptions, "limits.max_subscriptions"},
           Case{&v1::Limits::set_max_dialects, "limits.max_dialects"},
           Case{&v1::Limits::set_max_subscriptions_per_owner,
                "limits.max_subscriptions_per_owner"},
       }) {
    v1::ServerConfig config;
    (config.mutable_limits()->*c.set)(-1);
    absl::Status status = FinalizeConfig(config);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(std::string(status.message()), StartsWith(std::string(c.field)))
        << status;

    (config.mutable_limits()->*c.set)(0);
    EXPECT_TRUE(FinalizeConfig(config).ok()) << c.field;
  }
}

TEST(FinalizeConfigTest, TlsFilesComeInPairs) {
  struct Case {
    std::string_view cert, key, ca;
    std::string_view error_field;  // empty: OK
  };
  for (const Case& c : {
           Case{"", "", "", ""},
           Case{"c.pem", "k.pem", "", ""},
           Case{"c.pem", "k.pem", "ca.pem", ""},
           Case{"c.pem", "", "", "tls.key_file"},
           Case{"", "k.pem", "", "tls.cert_file"},
           Case{"", "", "ca.pem", "tls.client_ca_file"},
           Case{"c.pem", "", "ca.pem", "tls.key_file"},
       }) {
    v1::ServerConfig config;
    config.mutable_tls()->set_cert_file(std::string(c.cert));
    config.mutable_tls()->set_key_file(std::string(c.key));
    config.mutable_tls()->set_client_ca_file(std::string(c.ca));
    absl::Status status = FinalizeConfig(config);
    if (c.error_field.empty()) {
      EXPECT_TRUE(status.ok()) << status;
    } else {
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(std::string(status.message()),
                  StartsWith(std::string(c.error_field)))
          << status;
    }
  }
}

TEST(FinalizeConfigTest, OpenModeRequiresLoopback) {
  for (std::string_view address :
       {"0.0.0.0:7443", "[::]:7443", "10.0.0.1:7443", "example.com:7443"}) {
    v1::ServerConfig config;
    config.set_listen_address(std::string(address));
    absl::Status status = FinalizeConfig(config);
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << address;
    EXPECT_THAT(std::string(status.message()), HasSubstr("listen_address"));
    EXPECT_THAT(std::string(status.message()), HasSubstr("without tokens"));
    EXPECT_THAT(std::string(status.message()), HasSubstr("loopback"));

    v1::ServerConfig with_token = WithToken();
    with_token.set_listen_address(std::string(address));
    EXPECT_TRUE(FinalizeConfig(with_token).ok()) << address;
  }
  for (std::string_view address :
       {"127.0.0.1:1", "127.9.9.9:7443", "[::1]:7443", "localhost:7443"}) {
    v1::ServerConfig config;
    config.set_listen_address(std::string(address));
    EXPECT_TRUE(FinalizeConfig(config).ok()) << address;
  }
}

// ---- LimitsFromConfig -----------------------------------------------------

TEST(LimitsFromConfigTest, UnsetKeepsDefaults) {
  const core::Limits defaults;
  const core::Limits limits = LimitsFromConfig(v1::ServerConfig());
  EXPECT_EQ(limits.max_site_length, defaults.max_site_length);
  EXPECT_EQ(limits.max_page_size, defaults.max_page_size);
  EXPECT_EQ(limits.default_page_size, defaults.default_page_size);
  EXPECT_EQ(limits.max_subscriptions, defaults.max_subscriptions);
}

TEST(LimitsFromConfigTest, MapsEveryField) {
  v1::ServerConfig config;
  v1::Limits& in = *config.mutable_limits();
  in.set_max_site_length(101);
  in.set_max_site_depth(102);
  in.set_max_type_length(103);
  in.set_max_url_length(104);
  in.set_max_principal_length(105);
  in.set_max_groups(106);
  in.set_max_page_size(107);
  in.set_max_subscriptions(108);
  in.set_max_dialects(109);
  const core::Limits limits = LimitsFromConfig(config);
  EXPECT_EQ(limits.max_site_length, 101);
  EXPECT_EQ(limits.max_site_depth, 102);
  EXPECT_EQ(limits.max_type_length, 103);
  EXPECT_EQ(limits.max_url_length, 104);
  EXPECT_EQ(limits.max_principal_length, 105);
  EXPECT_EQ(limits.max_groups, 106);
  EXPECT_EQ(limits.max_page_size, 107);
  EXPECT_EQ(limits.max_subscriptions, 108);
  EXPECT_EQ(limits.max_dialects, 109);
  EXPECT_EQ(limits.default_page_size, core::Limits().default_page_size);
}

TEST(LimitsFromConfigTest, SmallMaxPageSizeCapsDefaultPageSize) {
  v1::ServerConfig config;
  config.mutable_limits()->set_max_page_size(10);
  const core::Limits limits = LimitsFromConfig(config);
  EXPECT_EQ(limits.max_page_size, 10);
  EXPECT_EQ(limits.default_page_size, 10);
}

// ---- IsLoopbackAddress ----------------------------------------------------

TEST(IsLoopbackAddressTest, Table) {
  struct Case {
    std::string_view address;
    bool loopback;
  };
  for (const Case& c : {
           Case{"127.0.0.1:7443", true},
           Case{"127.255.255.254:1", true},
           Case{"127.1.2.3:0", true},
           Case{"localhost:7443", true},
           Case{"LocalHost:7443", true},
           Case{"[::1]:7443", true},
           Case{"[0:0:0:0:0:0:0:1]:7443", true},
           Case{"0.0.0.0:7443", false},
           Case{"[::]:7443", false},
           Case{"128.0.0.1:7443", false},
           Case{"10.0.0.1:7443", false},
           Case{"126.255.255.255:7443", false},
           Case{"127.1:7443", false},
           Case{"127.0.0.1.nip.io:7443", false},
           Case{"localhost.example.com:7443", false},
           Case{"[::2]:7443", false},
           Case{"[::ffff:127.0.0.1]:7443", false},
           Case{"[127.0.0.1]:7443", false},
           Case{"127.0.0.1", false},
           Case{"::1", false},
           Case{"localhost", false},
           Case{"127.0.0.1:99999", false},
           Case{"", false},
       }) {
    EXPECT_EQ(IsLoopbackAddress(c.address), c.loopback) << c.address;
  }
}

}  // namespace
}  // namespace webhooks::server
