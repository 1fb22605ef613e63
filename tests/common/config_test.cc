#include "common/config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "common/config_doc.h"
#include "testing/scoped_temp_dir.h"

namespace alluvium {
namespace {

using testing::ScopedTempDir;

TEST(ConfigTest, DefaultsApplyWithoutSources) {
  auto config = Config::Load({.read_environment = false});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->GetInt(keys::kCoordinatorWebPort), 19999);
  EXPECT_EQ(config->GetSize(keys::kWorkerPageSize), 1u << 20);
  EXPECT_EQ(config->SourceOf(keys::kWorkerPageSize), "default");
}

TEST(ConfigTest, FlagBeatsEnvironmentBeatsFile) {
  ScopedTempDir dir;
  const auto file = dir.path() / "alluvium-site.properties";
  std::ofstream(file) << "# comment\nalluvium.worker.rpc.port = 1111\n"
                         "alluvium.coordinator.web.port=2222\nalluvium.log.level=warn\n";
  setenv("ALLUVIUM_COORDINATOR_WEB_PORT", "3333", 1);
  setenv("ALLUVIUM_LOG_LEVEL", "error", 1);
  auto config = Config::Load({.file = file.string(), .overrides = {"alluvium.log.level=debug"}});
  unsetenv("ALLUVIUM_COORDINATOR_WEB_PORT");
  unsetenv("ALLUVIUM_LOG_LEVEL");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->GetInt(keys::kWorkerRpcPort), 1111);
  EXPECT_EQ(config->SourceOf(keys::kWorkerRpcPort), "file");
  EXPECT_EQ(config->GetInt(keys::kCoordinatorWebPort), 3333);
  EXPECT_EQ(config->SourceOf(keys::kCoordinatorWebPort), "env");
  EXPECT_EQ(config->GetString(keys::kLogLevel), "debug");
  EXPECT_EQ(config->SourceOf(keys::kLogLevel), "flag");
}

TEST(ConfigTest, RejectsUnknownKeysAndBadValuesWithTheirNames) {
  auto unknown =
      Config::Load({.overrides = {"alluvium.worker.page.sise=1MB"}, .read_environment = false});
  EXPECT_EQ(unknown.status().code(), Code::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("alluvium.worker.page.sise"), std::string::npos);

  auto bad = Config::Load(
      {.overrides = {"alluvium.worker.page.store.size=huge"}, .read_environment = false});
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("alluvium.worker.page.store.size"), std::string::npos);

  auto malformed = Config::Load({.overrides = {"no-equals-sign"}, .read_environment = false});
  EXPECT_EQ(malformed.status().code(), Code::kInvalidArgument);

  EXPECT_EQ(Config::Load({.file = "/nonexistent/alluvium.properties"}).status().code(),
            Code::kNotFound);
}

TEST(ConfigTest, ErrorsNameASecretKeyButNotItsValue) {
  // A misspelt secret key is unknown, yet still a secret by its name.
  auto unknown = Config::Load(
      {.overrides = {"alluvium.underfs.s3.secret.kee=HUNTER2"}, .read_environment = false});
  EXPECT_EQ(unknown.status().code(), Code::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("alluvium.underfs.s3.secret.kee=******"),
            std::string::npos)
      << unknown.status();
  EXPECT_EQ(unknown.status().message().find("HUNTER2"), std::string::npos) << unknown.status();

  auto plain =
      Config::Load({.overrides = {"alluvium.worker.page.sise=1MB"}, .read_environment = false});
  EXPECT_NE(plain.status().message().find("-D alluvium.worker.page.sise=1MB"), std::string::npos)
      << plain.status();
}

TEST(ConfigTest, FileErrorsNameTheLine) {
  ScopedTempDir dir;
  const auto file = dir.path() / "bad.properties";
  std::ofstream(file) << "alluvium.log.level=info\nthis line is wrong\n";
  auto config = Config::Load({.file = file.string(), .read_environment = false});
  EXPECT_EQ(config.status().code(), Code::kInvalidArgument);
  EXPECT_NE(config.status().message().find(":2"), std::string::npos) << config.status();
}

// Found by fuzz/config_fuzzer: the integer check stopped at a NUL byte in a file's line, so
// "12\0junk" was accepted for an integer key (and read back as 12).
TEST(ConfigTest, RejectsNumbersFollowedByANulByte) {
  using namespace std::string_view_literals;
  ScopedTempDir dir;
  for (std::string_view line : {"alluvium.worker.rpc.port=12\0junk\n"sv,
                                "alluvium.job.load.failure.ratio.threshold=0.5\0x\n"sv}) {
    const auto file = dir.path() / "nul.properties";
    std::ofstream(file, std::ios::binary | std::ios::trunc) << line;
    auto config = Config::Load({.file = file.string(), .read_environment = false});
    EXPECT_EQ(config.status().code(), Code::kInvalidArgument) << line;
  }
}

TEST(ConfigTest, EnvironmentNamesAreUpperCasedKeys) {
  EXPECT_EQ(EnvNameOf("alluvium.worker.rpc.port"), "ALLUVIUM_WORKER_RPC_PORT");
}

TEST(ConfigTest, DefaultsAreValidForTheirTypes) {
  for (const KeyInfo* key : AllKeys()) {
    EXPECT_TRUE(ValidateValue(*key, key->default_value).ok()) << key->name;
  }
}

TEST(ConfigTest, DocsMatchTheKeyTable) {
  std::ifstream in(ALLUVIUM_CONFIGURATION_MD);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), ConfigurationMarkdown())
      << "docs/configuration.md is stale: regenerate it with "
         "`alluvium conf defaults --markdown > docs/configuration.md`";
}

}  // namespace
}  // namespace alluvium
