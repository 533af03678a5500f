#include "server/http/console_files.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhooks::server {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;

std::string Header(const HttpResponse& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

HttpResponse Get(const ConsoleFiles& files, std::string path) {
  HttpRequest request;
  request.method = "GET";
  request.path = std::move(path);
  return files.Handle(request);
}

class ConsoleFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("console_files_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "assets");
    Write("index.html", "<!doctype html><title>webhookd</title>");
    Write("assets/app-ABC123.js", "console.log(1)");
    Write("assets/app-ABC123.css", "body{}");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::filesystem::path dir_;
};

TEST_F(ConsoleFilesTest, ServesFilesWithTypesCacheAndCsp) {
  absl::StatusOr<ConsoleFiles> files = ConsoleFiles::Load(dir_.string());
  ASSERT_TRUE(files.ok()) << files.status();
  HttpResponse index = Get(*files, "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<!doctype html><title>webhookd</title>");
  EXPECT_EQ(Header(index, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(Header(index, "Cache-Control"), "no-cache");
  EXPECT_EQ(Header(index, "Content-Security-Policy"),
            ConsoleFiles::kContentSecurityPolicy);
  EXPECT_THAT(Header(index, "Content-Security-Policy"),
              HasSubstr("script-src 'self'"));
  EXPECT_EQ(Header(index, "X-Content-Type-Options"), "nosniff");

  HttpResponse js = Get(*files, "/assets/app-ABC123.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.body, "console.log(1)");
  EXPECT_EQ(Header(js, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(Header(js, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(Header(Get(*files, "/assets/app-ABC123.css"), "Content-Type"),
            "text/css; charset=utf-8");
}

TEST_F(ConsoleFilesTest, DeepLinksGetTheAppAndMissingFiles404) {
  absl::StatusOr<ConsoleFiles> files = ConsoleFiles::Load(dir_.string());
  ASSERT_TRUE(files.ok()) << files.status();
  HttpResponse deep = Get(*files, "/subscriptions/abc");
  EXPECT_EQ(deep.status, 200);
  EXPECT_EQ(Header(deep, "Content-Type"), "text/html; charset=utf-8");
  for (const char* missing : {"/favicon.ico", "/assets/gone", "/x/../etc.txt"}) {
    HttpResponse response = Get(*files, missing);
    EXPECT_EQ(response.status, 404) << missing;
    EXPECT_THAT(response.body, HasSubstr("no console file")) << missing;
  }
}

TEST_F(ConsoleFilesTest, ADirectoryWithoutIndexIsRefused) {
  std::filesystem::remove(dir_ / "index.html");
  absl::StatusOr<ConsoleFiles> files = ConsoleFiles::Load(dir_.string());
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(files.status().message(), HasSubstr("http.console_dir"));
  EXPECT_THAT(files.status().message(), HasSubstr("no index.html"));
  EXPECT_FALSE(ConsoleFiles::Load((dir_ / "nowhere").string()).ok());
}

TEST(ConsoleFilesMissingTest, EveryPathSaysHowToGetAConsole) {
  HttpResponse response = Get(ConsoleFiles::Missing(), "/");
  EXPECT_EQ(response.status, 404);
  EXPECT_THAT(response.body, HasSubstr("console is not installed"));
}

}  // namespace
}  // namespace webhooks::server
