#include "worker/ufs_registry.h"

#include <memory>

#include <gtest/gtest.h>

#include "ufs/local_ufs.h"
#include "worker/counting_ufs.h"

namespace alluvium::worker {
namespace {

using ::alluvium::worker::testing::CountingFileSystem;

TEST(UfsRegistryTest, SameRootSharesOneFileSystem) {
  UfsRegistry registry;
  auto a = registry.For("file:///tmp/a");
  auto b = registry.For("/tmp/b");  // a plain path is file://
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*a, *b);
  EXPECT_EQ((*a)->scheme(), "file");
}

TEST(UfsRegistryTest, MalformedUriGivesInvalidArgument) {
  UfsRegistry registry;
  EXPECT_EQ(registry.For("relative/path").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(registry.For("").status().code(), Code::kInvalidArgument);
}

TEST(UfsRegistryTest, SchemeWithoutFileSystemGivesUnimplemented) {
  UfsRegistry registry;
  EXPECT_EQ(registry.For("s3://bucket/key").status().code(), Code::kUnimplemented);
  EXPECT_EQ(registry.For("hdfs://nn/x").status().code(), Code::kUnimplemented);
}

TEST(UfsRegistryTest, InstalledFileSystemServesItsRootOnly) {
  UfsRegistry registry;
  auto fake = std::make_unique<CountingFileSystem>(std::make_unique<ufs::LocalFileSystem>());
  ufs::FileSystem* installed = fake.get();
  registry.Install("s3://bucket", std::move(fake));

  auto in_root = registry.For("s3://bucket/dir/key");
  ASSERT_TRUE(in_root.ok()) << in_root.status();
  EXPECT_EQ(*in_root, installed);
  EXPECT_EQ(registry.For("s3://other/key").status().code(), Code::kUnimplemented);
}

TEST(UfsRegistryTest, InstallReplacesAnOpenedFileSystem) {
  UfsRegistry registry;
  ASSERT_TRUE(registry.For("file:///tmp/a").ok());
  auto counting = std::make_unique<CountingFileSystem>(std::make_unique<ufs::LocalFileSystem>());
  ufs::FileSystem* installed = counting.get();
  registry.Install("file://", std::move(counting));

  auto after = registry.For("file:///tmp/a");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, installed);
}

}  // namespace
}  // namespace alluvium::worker
