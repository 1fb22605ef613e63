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

TEST(UfsFactoryTest, OtherSchemesAreUnimplemented) {
  Result<Uri> uri = Uri::Parse("s3://bucket/prefix/");
  ASSERT_TRUE(uri.ok()) << uri.status();
  Result<std::unique_ptr<FileSystem>> fs = OpenFileSystem(*uri, {.properties = {{"k", "v"}}});
  ASSERT_FALSE(fs.ok());
  EXPECT_EQ(fs.status().code(), Code::kUnimplemented);
  EXPECT_EQ(fs.status().message(), "no under file system for scheme 's3' in this build");
}

}  // namespace
}  // namespace alluvium::ufs
