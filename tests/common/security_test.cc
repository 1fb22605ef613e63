#include "common/security.h"

#include <fstream>

#include <gtest/gtest.h>

#include "testing/scoped_temp_dir.h"

namespace alluvium {
namespace {

class SecuritySettingsTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const auto path = dir_.path() / name;
    std::ofstream(path) << text;
    return path.string();
  }

  Result<SecuritySettings> Load(std::vector<std::string> overrides, bool server) {
    auto config = Config::Load({.overrides = std::move(overrides), .read_environment = false});
    if (!config.ok()) return config.status();
    return SecuritySettings::FromConfig(*config, server);
  }

  testing::ScopedTempDir dir_;
};

constexpr char kPem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

TEST_F(SecuritySettingsTest, NothingSetMeansNoTlsAndNoToken) {
  auto s = Load({}, /*server=*/true);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->tls);
  EXPECT_TRUE(s->token.empty());
}

TEST_F(SecuritySettingsTest, TokenIsTheFilesFirstLineWithoutItsNewline) {
  auto s = Load({"alluvium.security.token.file=" + Write("token", "s3cr3t-token\n")}, false);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->token, "s3cr3t-token");
}

TEST_F(SecuritySettingsTest, UnreadableOrEmptyTokenFileIsRefusedNamingTheKey) {
  auto missing = Load({"alluvium.security.token.file=" + (dir_.path() / "none").string()}, false);
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("alluvium.security.token.file"), std::string::npos);
  auto empty = Load({"alluvium.security.token.file=" + Write("empty", "\n")}, false);
  EXPECT_EQ(empty.status().code(), Code::kInvalidArgument);
}

TEST_F(SecuritySettingsTest, ServerWithTlsNeedsCertificateAndKey) {
  auto bare = Load({"alluvium.security.tls.enabled=true"}, /*server=*/true);
  EXPECT_EQ(bare.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bare.status().message().find("alluvium.security.tls.cert.file"), std::string::npos);
  // A client needs neither: it trusts the system store or the CA bundle.
  auto client = Load({"alluvium.security.tls.enabled=true"}, /*server=*/false);
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_TRUE(client->tls);

  auto full = Load({"alluvium.security.tls.enabled=true",
                    "alluvium.security.tls.cert.file=" + Write("cert.pem", kPem),
                    "alluvium.security.tls.key.file=" + Write("key.pem", kPem),
                    "alluvium.security.tls.ca.file=" + Write("ca.pem", kPem)},
                   /*server=*/true);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->tls_settings.cert_pem, kPem);
  EXPECT_EQ(full->tls_settings.ca_pem, kPem);
}

TEST_F(SecuritySettingsTest, FileWithoutPemAndClientAuthWithoutCaAreRefused) {
  auto not_pem = Load({"alluvium.security.tls.enabled=true",
                       "alluvium.security.tls.ca.file=" + Write("ca.txt", "hello")},
                      false);
  EXPECT_EQ(not_pem.status().code(), Code::kInvalidArgument);
  EXPECT_NE(not_pem.status().message().find("no PEM block"), std::string::npos);
  auto no_ca = Load({"alluvium.security.tls.enabled=true", "alluvium.security.tls.client.auth=true",
                     "alluvium.security.tls.cert.file=" + Write("cert.pem", kPem),
                     "alluvium.security.tls.key.file=" + Write("key.pem", kPem)},
                    /*server=*/true);
  EXPECT_EQ(no_ca.status().code(), Code::kInvalidArgument);
}

TEST(TokenMatchesTest, OnlyTheExactTokenMatches) {
  EXPECT_TRUE(TokenMatches("abc", "abc"));
  EXPECT_FALSE(TokenMatches("abd", "abc"));
  EXPECT_FALSE(TokenMatches("ab", "abc"));
  EXPECT_FALSE(TokenMatches("abcd", "abc"));
  EXPECT_FALSE(TokenMatches("", "abc"));
  EXPECT_TRUE(TokenMatches("anything", ""));  // no token required
}

TEST(TokenRefusalTest, SaysWhichButNeverTheToken) {
  EXPECT_EQ(TokenRefusal(false).code(), Code::kUnauthenticated);
  EXPECT_NE(TokenRefusal(false).message().find("requires"), std::string::npos);
  EXPECT_NE(TokenRefusal(true).message().find("wrong"), std::string::npos);
}

}  // namespace
}  // namespace alluvium
