#include "worker/status_cache.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "metastore/meta_store.h"
#include "testing/eventually.h"
#include "testing/scoped_temp_dir.h"
#include "ufs/local_ufs.h"
#include "worker/counting_ufs.h"
#include "worker/ufs_registry.h"

namespace alluvium::worker {
namespace {

namespace fs = std::filesystem;
using ::alluvium::testing::Eventually;
using ::alluvium::testing::ScopedTempDir;
using ::alluvium::worker::testing::CountingFileSystem;
using namespace std::chrono_literals;

void WriteFile(const fs::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  ASSERT_TRUE(out.good()) << path;
}

class StatusCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto counting = std::make_unique<CountingFileSystem>(std::make_unique<ufs::LocalFileSystem>());
    ufs_ = counting.get();
    registry_.Install("file://", std::move(counting));
    auto meta = metastore::MetaStore::Open(meta_dir_.path() / "meta");
    ASSERT_TRUE(meta.ok()) << meta.status();
    meta_ = std::move(*meta);
  }

  fs::path PathOf(const std::string& name) const { return ufs_dir_.path() / name; }
  std::string UriOf(const std::string& name) const { return "file://" + PathOf(name).string(); }

  ScopedTempDir ufs_dir_;
  ScopedTempDir meta_dir_;
  UfsRegistry registry_;
  CountingFileSystem* ufs_ = nullptr;  // owned by registry_
  std::unique_ptr<metastore::MetaStore> meta_;
};

TEST_F(StatusCacheTest, ReturnsTheUfsStatusAndRecordsItInTheMetaStore) {
  StatusCache cache(*meta_, registry_, 1h);
  WriteFile(PathOf("a"), "hello");

  auto status = cache.Get(UriOf("a"));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->uri, UriOf("a"));
  EXPECT_EQ(status->length, 5u);
  EXPECT_FALSE(status->version.empty());
  auto stored = meta_->Get(UriOf("a"));
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->status, *status);
}

TEST_F(StatusCacheTest, WithZeroIntervalRewrittenFileGetsNewVersionOnNextGet) {
  StatusCache cache(*meta_, registry_, 0ms);
  WriteFile(PathOf("a"), "first");
  auto before = cache.Get(UriOf("a"));
  ASSERT_TRUE(before.ok()) << before.status();

  WriteFile(PathOf("a"), "second, longer");  // a new size is a new version whatever the mtime
  auto after = cache.Get(UriOf("a"));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_NE(after->version, before->version);
  EXPECT_EQ(after->length, 14u);
  EXPECT_EQ(ufs_->get_status_calls.load(), 2);
}

TEST_F(StatusCacheTest, WithLongIntervalCachedStatusIsReturnedWithoutAskingTheUfs) {
  StatusCache cache(*meta_, registry_, 1h);
  WriteFile(PathOf("a"), "first");
  auto before = cache.Get(UriOf("a"));
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_EQ(ufs_->get_status_calls.load(), 1);

  WriteFile(PathOf("a"), "second, longer");
  for (int i = 0; i < 3; ++i) {
    auto again = cache.Get(UriOf("a"));
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(*again, *before);
  }
  EXPECT_EQ(ufs_->get_status_calls.load(), 1);
}

TEST_F(StatusCacheTest, CachedStatusIsRefreshedFromTheUfsOnceItExpires) {
  StatusCache cache(*meta_, registry_, 200ms);
  WriteFile(PathOf("a"), "first");
  auto before = cache.Get(UriOf("a"));
  ASSERT_TRUE(before.ok()) << before.status();
  WriteFile(PathOf("a"), "second, longer");

  std::string version = before->version;
  EXPECT_TRUE(Eventually(
      [&] {
        auto now = cache.Get(UriOf("a"));
        if (now.ok()) version = now->version;
        return version != before->version;
      },
      10s));
  EXPECT_GE(ufs_->get_status_calls.load(), 2);
  auto stored = meta_->Get(UriOf("a"));
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->status.version, version);
}

TEST_F(StatusCacheTest, RememberedStatusIsServedWithoutAskingTheUfs) {
  StatusCache cache(*meta_, registry_, 1h);
  const ufs::FileStatus listed{
      .uri = UriOf("listed"), .length = 42, .mtime_ms = 1000, .version = "v-from-listing"};
  cache.Remember(listed);

  auto status = cache.Get(UriOf("listed"));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status, listed);
  EXPECT_EQ(ufs_->get_status_calls.load(), 0);
}

TEST_F(StatusCacheTest, DeletedFileGivesNotFoundAndLeavesNoEntry) {
  StatusCache cache(*meta_, registry_, 0ms);
  WriteFile(PathOf("a"), "hello");
  ASSERT_TRUE(cache.Get(UriOf("a")).ok());
  fs::remove(PathOf("a"));

  EXPECT_EQ(cache.Get(UriOf("a")).status().code(), Code::kNotFound);
  EXPECT_EQ(meta_->Get(UriOf("a")).status().code(), Code::kNotFound);
}

TEST_F(StatusCacheTest, NeverSeenMissingFileGivesNotFound) {
  StatusCache cache(*meta_, registry_, 1h);

  EXPECT_EQ(cache.Get(UriOf("missing")).status().code(), Code::kNotFound);
  EXPECT_EQ(cache.Get(UriOf("missing")).status().code(), Code::kNotFound);
  EXPECT_EQ(ufs_->get_status_calls.load(), 2);  // misses are not cached
}

TEST_F(StatusCacheTest, UriWithoutFileSystemGivesUnimplemented) {
  StatusCache cache(*meta_, registry_, 0ms);

  EXPECT_EQ(cache.Get("hdfs://nn/key").status().code(), Code::kUnimplemented);
}

}  // namespace
}  // namespace alluvium::worker
