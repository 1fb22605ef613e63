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
