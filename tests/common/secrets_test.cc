#include "common/secrets.h"

#include <gtest/gtest.h>

#include "common/config_keys.h"

namespace alluvium {
namespace {

TEST(SecretsTest, CredentialKeysAreSecretInEverySpelling) {
  for (std::string_view key :
       {"s3a.secretKey", "aws.secretKey", "alluvium.underfs.s3.secret.key",
        "alluvium.underfs.s3.session.token", "aws.sessionToken", "SECRET_ACCESS_KEY",
        "fs.oss.accessKeySecret", "fs.azure.account.key.acct.blob.core.windows.net", "db.password",
        "ldap.passwd", "gcs.private-key", "service.api_key"}) {
    EXPECT_TRUE(IsSecretKey(key)) << key;
  }
}

TEST(SecretsTest, OtherSettingsAndWhereSecretsAreKeptAreNotSecret) {
  for (std::string_view key :
       {"s3a.accessKeyId", "alluvium.underfs.s3.access.key", "alluvium.underfs.s3.endpoint",
        "alluvium.underfs.s3.region", "alluvium.security.token.file", "fs.gcs.credential.path",
        "alluvium.worker.page.store.size", ""}) {
    EXPECT_FALSE(IsSecretKey(key)) << key;
  }
}

// The configuration documents its secrets as "Never printed"; the predicate must agree, so a new
// secret key cannot be added without being masked.
TEST(SecretsTest, ConfigurationKeysDocumentedAsNeverPrintedAreExactlyTheSecretOnes) {
  int secrets = 0;
  for (const KeyInfo* key : AllKeys()) {
    const bool documented = key->doc.find("Never printed") != std::string_view::npos;
    EXPECT_EQ(IsSecretKey(key->name), documented) << key->name;
    secrets += documented ? 1 : 0;
  }
  EXPECT_EQ(secrets, 2);  // the S3 secret key and session token
}

TEST(SecretsTest, MaskedValueHidesSetSecretsOnly) {
  EXPECT_EQ(MaskedValue("s3a.secretKey", "hunter2"), kMaskedValue);
  EXPECT_EQ(MaskedValue("s3a.secretKey", ""), "");  // shows that none is set
  EXPECT_EQ(MaskedValue("s3a.accessKeyId", "AKIA1"), "AKIA1");
}

TEST(SecretsTest, MaskSecretsKeepsEveryKeyAndMasksSecretValues) {
  const std::map<std::string, std::string> masked = MaskSecrets(
      {{"s3a.accessKeyId", "AKIA1"}, {"s3a.secretKey", "hunter2"}, {"x.session.token", "t"}});
  EXPECT_EQ(masked, (std::map<std::string, std::string>{{"s3a.accessKeyId", "AKIA1"},
                                                        {"s3a.secretKey", "******"},
                                                        {"x.session.token", "******"}}));
}

TEST(SecretsTest, FormatMaskedListsKeysWithSecretsMasked) {
  EXPECT_EQ(FormatMasked({{"a.endpoint", "http://h"}, {"s3a.secretKey", "hunter2"}}),
            "a.endpoint=http://h, s3a.secretKey=******");
  EXPECT_EQ(FormatMasked({}), "");
}

}  // namespace
}  // namespace alluvium
