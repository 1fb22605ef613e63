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
  EXPECT_EQ(registry.For("hdfs://nn/x").status().code(), Code::kUnimplemented);
}

TEST(UfsRegistryTest, InstalledFileSystemServesItsRootOnly) {
  UfsRegistry registry;
  auto fake = std::make_unique<CountingFileSystem>(std::make_unique<ufs::LocalFileSystem>());
  ufs::FileSystem* installed = fake.get();
  registry.Install("s3://bucket", std::move(fake));

  auto in_root = registry.For("s3://bucket/dir/key");
  ASSERT_TRUE(in_root.ok()) << in_root.status();
  EXPECT_EQ(in_root->get(), installed);
  auto other = registry.For("s3://other/key");  // opened for real, with its own settings
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_NE(other->get(), installed);
}

TEST(UfsRegistryTest, InstallReplacesAnOpenedFileSystem) {
  UfsRegistry registry;
  ASSERT_TRUE(registry.For("file:///tmp/a").ok());
  auto counting = std::make_unique<CountingFileSystem>(std::make_unique<ufs::LocalFileSystem>());
  ufs::FileSystem* installed = counting.get();
  registry.Install("file://", std::move(counting));

  auto after = registry.For("file:///tmp/a");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->get(), installed);
}

TEST(UfsRegistryTest, AsksTheSourceOncePerRefreshAndReopensOnChange) {
  int calls = 0;
  std::string endpoint = "http://127.0.0.1:1";
  UfsRegistry registry(
      [&](const std::string& root) -> Result<ufs::UfsOptions> {
        ++calls;
        EXPECT_EQ(root, "s3://bucket");
        return ufs::UfsOptions{.properties = {{"alluvium.underfs.s3.endpoint", endpoint}}};
      },
      std::chrono::milliseconds(0));  // every call re-checks
  auto first = registry.For("s3://bucket/a");
  ASSERT_TRUE(first.ok()) << first.status();
  auto same = registry.For("s3://bucket/b");
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->get(), first->get());  // unchanged settings: the same file system
  endpoint = "http://127.0.0.1:2";
  auto changed = registry.For("s3://bucket/a");
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_NE(changed->get(), first->get());
  EXPECT_EQ(calls, 3);
}

TEST(UfsRegistryTest, KeepsTheOpenFileSystemWhenTheSourceFails) {
  bool fail = false;
  UfsRegistry registry(
      [&](const std::string&) -> Result<ufs::UfsOptions> {
        if (fail) return Unavailable("coordinator down");
        return ufs::UfsOptions{};
      },
      std::chrono::milliseconds(0));
  auto first = registry.For("file:///tmp/a");
  ASSERT_TRUE(first.ok()) << first.status();
  fail = true;
  auto again = registry.For("file:///tmp/a");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->get(), first->get());
  EXPECT_EQ(registry.For("s3://never-opened/x").status().code(), Code::kUnavailable);
}

TEST(UfsRegistryTest, BadSettingsGiveInvalidArgument) {
  UfsRegistry registry([](const std::string&) -> Result<ufs::UfsOptions> {
    return ufs::UfsOptions{.properties = {{"alluvium.underfs.s3.endpoint", "ftp://x"}}};
  });
  EXPECT_EQ(registry.For("s3://bucket/key").status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace alluvium::worker
