// https end to end: s3rver serving TLS with a certificate made for the test, trusted through
// alluvium.underfs.s3.ca.bundle.
#include <gtest/gtest.h>

#include <span>

#include "s3/s3_test_env.h"
#include "testing/scoped_temp_dir.h"
#include "testing/self_signed_cert.h"

namespace alluvium::ufs::s3 {
namespace {

using ::alluvium::testing::OpenS3;
using ::alluvium::testing::S3Properties;
using ::alluvium::testing::S3TestServer;
using ::alluvium::testing::ScopedTempDir;

constexpr char kBucket[] = "tls-bucket";
constexpr std::string_view kContent = "bytes that crossed TLS";

class S3TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = S3TestServer::StartTls({kBucket});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_TRUE(server_->PutObject(kBucket, "d/a", kContent).ok());
    ASSERT_TRUE(server_->SeedObjects(kBucket, "d/many/", 5, 4096, 7).ok());
  }
  static void TearDownTestSuite() { server_.reset(); }

  static std::unique_ptr<S3FileSystem> Fs(const std::string& ca_bundle) {
    auto props = S3Properties(server_->endpoint());
    props[kCaBundleKey] = ca_bundle;
    return OpenS3(kBucket, props);
  }
  static std::string Uri(std::string_view key) { return fmt::format("s3://{}/{}", kBucket, key); }

  static inline std::unique_ptr<S3TestServer> server_;
};

TEST_F(S3TlsTest, StatsListsAndReadsOverHttps) {
  ASSERT_TRUE(server_->endpoint().starts_with("https://")) << server_->endpoint();
  auto fs = Fs(server_->ca_path());

  auto status = fs->GetStatus(Uri("d/a"));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->length, kContent.size());

  auto it = fs->List(Uri("d"), {.recursive = true});
  ASSERT_TRUE(it.ok()) << it.status();
  int files = 0;
  while (true) {
    auto next = (*it)->Next();
    ASSERT_TRUE(next.ok()) << next.status();
    if (!next->has_value()) break;
    if (!(*next)->is_directory) ++files;
  }
  EXPECT_EQ(files, 6);

  auto reader = fs->Open(Uri("d/a"), {.expected_version = status->version});
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::string buf(5, '\0');
  auto n = (*reader)->ReadAt(6, std::as_writable_bytes(std::span(buf)));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(buf.substr(0, *n), kContent.substr(6, 5));

  // The load's path: one streamed GET for a sequential read.
  const std::string key = S3TestServer::SeededKey("d/many/", 3);
  const std::string want = S3TestServer::SeededData(3, 4096, 7);
  ASSERT_FALSE(want.empty());
  auto seeded = fs->GetStatus(Uri(key));
  ASSERT_TRUE(seeded.ok()) << seeded.status();
  auto stream =
      fs->Open(Uri(key), {.expected_version = seeded->version, .sequential_until = seeded->length});
  ASSERT_TRUE(stream.ok()) << stream.status();
  std::string got(want.size(), '\0');
  auto read = (*stream)->ReadAt(0, std::as_writable_bytes(std::span(got)));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, want.size());
  EXPECT_EQ(got, want);
}

TEST_F(S3TlsTest, AnUntrustedCertificateFailsAtOnceAndSaysSo) {
  ScopedTempDir other;
  ASSERT_TRUE(
      testing::WriteSelfSignedCertificate(other.path() / "k.pem", other.path() / "ca.pem").ok());
  auto status = Fs(other.path() / "ca.pem")->GetStatus(Uri("d/a"));
  ASSERT_FALSE(status.ok());
  // Not kUnavailable: retrying cannot make a certificate trusted.
  EXPECT_EQ(status.status().code(), Code::kFailedPrecondition) << status.status();
  EXPECT_NE(status.status().message().find("certificate"), std::string::npos) << status.status();
}

}  // namespace
}  // namespace alluvium::ufs::s3
