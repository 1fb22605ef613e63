#include "worker/status_cache.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "common/cache_filter.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "metastore/meta_store.h"
#include "testing/scoped_temp_dir.h"
#include "ufs/local_ufs.h"
#include "worker/counting_ufs.h"
#include "worker/ufs_registry.h"

namespace alluvium::worker {
namespace {

namespace fs = std::filesystem;
using ::alluvium::testing::ScopedTempDir;
using ::alluvium::worker::testing::CountingFileSystem;
using namespace std::chrono_literals;

void WriteFile(const fs::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  ASSERT_TRUE(out.good()) << path;
}

// A CacheFilter with these rules (a fixed policy, never re-read).
std::unique_ptr<CacheFilter> FilterOf(std::string_view json) {
  auto policy = CacheFilterPolicy::Parse(json);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return std::make_unique<CacheFilter>(policy.ok() ? *policy : CacheFilterPolicy());
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

  // A StatusCache under `filter`, whose wall clock runs `skew_` ahead of the real one (the
  // metadata store stamps entries with the real one).
  StatusCache CacheWith(CacheFilter& filter) {
    return StatusCache(*meta_, registry_, filter, [this] { return UnixMillis() + skew_.count(); });
  }

  ScopedTempDir ufs_dir_;
  ScopedTempDir meta_dir_;
  UfsRegistry registry_;
  CountingFileSystem* ufs_ = nullptr;  // owned by registry_
  std::unique_ptr<metastore::MetaStore> meta_;
  CacheFilter immutable_;  // the default policy
  std::chrono::milliseconds skew_{0};
};

TEST_F(StatusCacheTest, ReturnsTheUfsStatusAndRecordsItInTheMetaStore) {
  StatusCache cache = CacheWith(immutable_);
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

TEST_F(StatusCacheTest, ImmutableStatusIsServedFromTheStoreWithoutAskingTheUfsAgain) {
  StatusCache cache = CacheWith(immutable_);
  WriteFile(PathOf("a"), "first");
  auto before = cache.Get(UriOf("a"));
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_EQ(ufs_->get_status_calls.load(), 1);

  WriteFile(PathOf("a"), "second, longer");  // the rule says it never changes: not looked at
  skew_ = std::chrono::hours(24 * 365);
  for (int i = 0; i < 3; ++i) {
    auto again = cache.Get(UriOf("a"));
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(*again, *before);
  }
  EXPECT_EQ(ufs_->get_status_calls.load(), 1);
}

TEST_F(StatusCacheTest, MaxAgeStatusIsServedWhileYoungAndFetchedAnewOnceOlder) {
  auto filter = FilterOf(R"({"apiVersion": 1, "metadata": {"maxAge": {".*/a": "10min"}}})");
  StatusCache cache = CacheWith(*filter);
  WriteFile(PathOf("a"), "first");
  auto before = cache.Get(UriOf("a"));
  ASSERT_TRUE(before.ok()) << before.status();
  WriteFile(PathOf("a"), "second, longer");  // a new size is a new version whatever the mtime

  skew_ = 9min;
  auto young = cache.Get(UriOf("a"));
  ASSERT_TRUE(young.ok()) << young.status();
  EXPECT_EQ(*young, *before);
  EXPECT_EQ(ufs_->get_status_calls.load(), 1);

  skew_ = 11min;
  auto old = cache.Get(UriOf("a"));
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_NE(old->version, before->version);
  EXPECT_EQ(old->length, 14u);
  EXPECT_EQ(ufs_->get_status_calls.load(), 2);
  auto stored = meta_->Get(UriOf("a"));  // stored again, stamped now: young once more
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->status, *old);
}

TEST_F(StatusCacheTest, SkipCacheAsksTheUfsEveryTimeAndStoresNothing) {
  auto filter = FilterOf(R"({"apiVersion": 1, "metadata": {"skipCache": [".*/live/.*"]}})");
  StatusCache cache = CacheWith(*filter);
  fs::create_directories(PathOf("live"));
  WriteFile(PathOf("live/a"), "first");
  ASSERT_TRUE(cache.Get(UriOf("live/a")).ok());
  WriteFile(PathOf("live/a"), "second, longer");
  auto now = cache.Get(UriOf("live/a"));
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_EQ(now->length, 14u);
  EXPECT_EQ(ufs_->get_status_calls.load(), 2);
  EXPECT_EQ(meta_->Get(UriOf("live/a")).status().code(), Code::kNotFound);
}

TEST_F(StatusCacheTest, ACallersMaxAgeTightensAnImmutableRule) {
  StatusCache cache = CacheWith(immutable_);
  WriteFile(PathOf("a"), "first");
  ASSERT_TRUE(cache.Get(UriOf("a")).ok());
  skew_ = 2min;
  ASSERT_TRUE(cache.Get(UriOf("a"), 5min).ok());  // young enough
  EXPECT_EQ(ufs_->get_status_calls.load(), 1);
  ASSERT_TRUE(cache.Get(UriOf("a"), 1min).ok());  // too old for this caller
  EXPECT_EQ(ufs_->get_status_calls.load(), 2);
}

TEST_F(StatusCacheTest, ARulesFileChangeTakesEffectAfterTheCheckInterval) {
  ScopedTempDir conf;
  const fs::path rules = conf.path() / "cache_filter.json";
  ASSERT_TRUE(WriteFileAtomically(rules, R"({"apiVersion": 1})").ok());
  std::chrono::steady_clock::time_point now{};
  auto filter = CacheFilter::Open({.file = rules, .check_interval = 1min}, [&] { return now; });
  ASSERT_TRUE(filter.ok()) << filter.status();
  StatusCache cache = CacheWith(**filter);
  WriteFile(PathOf("a"), "first");
  ASSERT_TRUE(cache.Get(UriOf("a")).ok());
  ASSERT_TRUE(cache.Get(UriOf("a")).ok());
  EXPECT_EQ(ufs_->get_status_calls.load(), 1);  // immutable

  ASSERT_TRUE(
      WriteFileAtomically(rules, R"({"apiVersion": 1, "metadata": {"defaultType": "skipCache"}})")
          .ok());
  ASSERT_TRUE(cache.Get(UriOf("a")).ok());
  EXPECT_EQ(ufs_->get_status_calls.load(), 1);  // not re-read yet
  now += 1min;
  ASSERT_TRUE(cache.Get(UriOf("a")).ok());
  ASSERT_TRUE(cache.Get(UriOf("a")).ok());
  EXPECT_EQ(ufs_->get_status_calls.load(), 3);  // skipCache now
}

TEST_F(StatusCacheTest, RememberedStatusIsServedWithoutAskingTheUfs) {
  StatusCache cache = CacheWith(immutable_);
  const ufs::FileStatus listed{
      .uri = UriOf("listed"), .length = 42, .mtime_ms = 1000, .version = "v-from-listing"};
  cache.Remember(listed);

  auto status = cache.Get(UriOf("listed"));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status, listed);
  EXPECT_EQ(ufs_->get_status_calls.load(), 0);
}

TEST_F(StatusCacheTest, ForgottenStatusIsAskedAgainAndADeletedFileLeavesNoEntry) {
  StatusCache cache = CacheWith(immutable_);
  WriteFile(PathOf("a"), "hello");
  ASSERT_TRUE(cache.Get(UriOf("a")).ok());
  fs::remove(PathOf("a"));
  EXPECT_TRUE(cache.Get(UriOf("a")).ok());  // immutable: the cached status stands

  cache.Forget(UriOf("a"));  // as a read that found the file gone does
  EXPECT_EQ(cache.Get(UriOf("a")).status().code(), Code::kNotFound);
  EXPECT_EQ(meta_->Get(UriOf("a")).status().code(), Code::kNotFound);
}

TEST_F(StatusCacheTest, NeverSeenMissingFileGivesNotFound) {
  StatusCache cache = CacheWith(immutable_);

  EXPECT_EQ(cache.Get(UriOf("missing")).status().code(), Code::kNotFound);
  EXPECT_EQ(cache.Get(UriOf("missing")).status().code(), Code::kNotFound);
  EXPECT_EQ(ufs_->get_status_calls.load(), 2);  // misses are not cached
}

TEST_F(StatusCacheTest, UriWithoutFileSystemGivesUnimplemented) {
  StatusCache cache = CacheWith(immutable_);

  EXPECT_EQ(cache.Get("hdfs://nn/key").status().code(), Code::kUnimplemented);
}

}  // namespace
}  // namespace alluvium::worker
