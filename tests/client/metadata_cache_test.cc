#include "client/metadata_cache.h"

#include <gtest/gtest.h>

namespace alluvium::client {
namespace {

using namespace std::chrono_literals;

FileInfo Info(std::string uri, std::string version = "v1") {
  return {.path = "/p", .uri = std::move(uri), .length = 10, .version = std::move(version)};
}

class MetadataCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto policy = CacheFilterPolicy::Parse(R"({"apiVersion": 1, "metadata": {
        "skipCache": ["file:///live/.*"], "maxAge": {"file:///young/.*": "1min"}}})");
    ASSERT_TRUE(policy.ok()) << policy.status();
    filter_ = std::make_unique<CacheFilter>(std::move(*policy));
  }

  MetadataCache Cache(size_t entries = 100) {
    return MetadataCache(*filter_, entries, 10min, [this] { return now_; });
  }

  std::unique_ptr<CacheFilter> filter_;
  std::chrono::steady_clock::time_point now_{};
};

TEST_F(MetadataCacheTest, ImmutableStatusesAreKeptUntilTheyExpire) {
  auto cache = Cache();
  cache.Put(Info("file:///data/a"));
  now_ += 9min;
  ASSERT_TRUE(cache.Get("file:///data/a").has_value());
  EXPECT_EQ(cache.Get("file:///data/a")->version, "v1");
  now_ += 2min;
  EXPECT_FALSE(cache.Get("file:///data/a").has_value());
}

TEST_F(MetadataCacheTest, MaxAgeAndSkipCacheRulesApply) {
  auto cache = Cache();
  cache.Put(Info("file:///young/a"));
  cache.Put(Info("file:///live/b"));
  EXPECT_FALSE(cache.Get("file:///live/b").has_value()) << "skipCache: never kept";
  now_ += 59s;
  EXPECT_TRUE(cache.Get("file:///young/a").has_value());
  now_ += 2s;
  EXPECT_FALSE(cache.Get("file:///young/a").has_value());
  EXPECT_EQ(cache.size(), 0u);
}

// A listing is served while its rule trusts it and every entry's status is still kept: a
// status forgotten (a read found the file changed), evicted or expired makes it list again.
TEST_F(MetadataCacheTest, ListingsAreKeptAsTheirEntriesStatusesAre) {
  auto cache = Cache(3);
  const std::vector<FileInfo> entries = {Info("file:///data/a"), Info("file:///data/b", "v7")};
  for (const FileInfo& info : entries) cache.Put(info);
  cache.PutListing("file:///data", entries);
  auto listing = cache.GetListing("file:///data");
  ASSERT_TRUE(listing.has_value());
  ASSERT_EQ(listing->size(), 2u);
  EXPECT_EQ((*listing)[1].version, "v7");
  EXPECT_FALSE(cache.GetListing("file:///other").has_value());

  cache.Forget("file:///data/b");
  EXPECT_FALSE(cache.GetListing("file:///data").has_value()) << "an entry's status is gone";
  cache.Put(entries[1]);
  EXPECT_FALSE(cache.GetListing("file:///data").has_value()) << "and so is the listing";

  cache.PutListing("file:///data", entries);
  cache.Put(Info("file:///x"));
  cache.Put(Info("file:///y"));  // capacity 3: a and b's statuses are evicted first
  EXPECT_FALSE(cache.GetListing("file:///data").has_value());

  for (const FileInfo& info : entries) cache.Put(info);
  cache.PutListing("file:///data", entries);
  ASSERT_TRUE(cache.GetListing("file:///data").has_value());
  cache.Clear();
  EXPECT_FALSE(cache.GetListing("file:///data").has_value());

  cache.PutListing("file:///data",
                   {Info("file:///a"), Info("file:///b"), Info("file:///c"), Info("file:///d")});
  EXPECT_FALSE(cache.GetListing("file:///data").has_value()) << "larger than the capacity";
}

TEST_F(MetadataCacheTest, ListingsFollowTheDirectorysRule) {
  auto cache = Cache();
  const std::vector<FileInfo> young = {Info("file:///young/d/a")};
  cache.Put(young[0]);
  cache.PutListing("file:///young/d", young);
  now_ += 59s;
  EXPECT_TRUE(cache.GetListing("file:///young/d").has_value());
  now_ += 2s;
  EXPECT_FALSE(cache.GetListing("file:///young/d").has_value()) << "maxAge 1min";
  cache.PutListing("file:///live/d", {});
  EXPECT_FALSE(cache.GetListing("file:///live/d").has_value()) << "skipCache";
  const std::vector<FileInfo> data = {Info("file:///data/a")};
  cache.Put(data[0]);
  cache.PutListing("file:///data", data);
  now_ += 11min;
  EXPECT_FALSE(cache.GetListing("file:///data").has_value()) << "expired like a status";
}

TEST_F(MetadataCacheTest, NewerStatusReplacesAndForgetDrops) {
  auto cache = Cache();
  cache.Put(Info("file:///data/a"));
  cache.Put(Info("file:///data/a", "v2"));
  EXPECT_EQ(cache.Get("file:///data/a")->version, "v2");
  cache.Forget("file:///data/a");
  EXPECT_FALSE(cache.Get("file:///data/a").has_value());
}

TEST_F(MetadataCacheTest, ClearForgetsEveryStatusAndTheCacheFillsAgain) {
  auto cache = Cache(/*entries=*/2);
  cache.Put(Info("file:///data/a"));
  cache.Put(Info("file:///data/b"));
  cache.Clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.Get("file:///data/a").has_value());
  cache.Put(Info("file:///data/c"));
  cache.Put(Info("file:///data/d"));
  cache.Put(Info("file:///data/e"));  // the LRU list was cleared with the entries
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.Get("file:///data/e").has_value());
}

TEST_F(MetadataCacheTest, LeastRecentlyUsedGoFirstWhenFull) {
  auto cache = Cache(/*entries=*/2);
  cache.Put(Info("file:///data/a"));
  cache.Put(Info("file:///data/b"));
  ASSERT_TRUE(cache.Get("file:///data/a").has_value());  // b is now the least recent
  cache.Put(Info("file:///data/c"));
  EXPECT_TRUE(cache.Get("file:///data/a").has_value());
  EXPECT_FALSE(cache.Get("file:///data/b").has_value());
  EXPECT_TRUE(cache.Get("file:///data/c").has_value());
  EXPECT_EQ(cache.size(), 2u);
}

TEST_F(MetadataCacheTest, ZeroEntriesKeepsNothing) {
  auto cache = Cache(/*entries=*/0);
  cache.Put(Info("file:///data/a"));
  EXPECT_FALSE(cache.Get("file:///data/a").has_value());
}

}  // namespace
}  // namespace alluvium::client
