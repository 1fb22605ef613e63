#include "ufs/ufs_factory.h"

#include <gtest/gtest.h>

namespace alluvium::ufs {
namespace {

TEST(UfsFactoryTest, FileSchemeOpensLocalFileSystem) {
  Result<Uri> uri = Uri::Parse("file:///tmp");
  ASSERT_TRUE(uri.ok()) << uri.status();
  Result<std::unique_ptr<FileSystem>> fs = OpenFileSystem(*uri, {});
  ASSERT_TRUE(fs.ok()) << fs.status();
  EXPECT_EQ((*fs)->scheme(), "file");
}

TEST(UfsFactoryTest, S3OpensWithItsSettings) {
  Result<Uri> uri = Uri::Parse("s3://bucket/prefix/");
  ASSERT_TRUE(uri.ok()) << uri.status();
  auto fs = OpenFileSystem(
      *uri, {.properties = {{"alluvium.underfs.s3.endpoint", "http://127.0.0.1:9"}}});
  ASSERT_TRUE(fs.ok()) << fs.status();
  EXPECT_EQ((*fs)->scheme(), "s3");

  auto bad = OpenFileSystem(*uri, {.properties = {{"alluvium.underfs.s3.endpoint", "ftp://x"}}});
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
}

TEST(UfsFactoryTest, OtherSchemesAreUnimplemented) {
  Result<Uri> uri = Uri::Parse("hdfs://namenode/prefix/");
  ASSERT_TRUE(uri.ok()) << uri.status();
  Result<std::unique_ptr<FileSystem>> fs = OpenFileSystem(*uri, {.properties = {{"k", "v"}}});
  ASSERT_FALSE(fs.ok());
  EXPECT_EQ(fs.status().code(), Code::kUnimplemented);
  EXPECT_EQ(fs.status().message(), "no under file system for scheme 'hdfs' in this build");
}

}  // namespace
}  // namespace alluvium::ufs
