#include "pagestore/lru_index.h"

#include <gtest/gtest.h>

namespace alluvium::pagestore {
namespace {

PageKey Key(uint64_t i) { return {.file = FileId{.hi = 1, .lo = 2}, .index = i}; }

LruIndex::Entry Entry(uint64_t length, uint64_t generation, uint32_t dir = 0) {
  return {.length = length, .dir = dir, .generation = generation};
}

TEST(LruIndexTest, PopsInInsertionOrderWithoutTouches) {
  LruIndex index;
  for (uint64_t i = 0; i < 3; ++i) index.Insert(Key(i), Entry(10, i + 1));
  EXPECT_EQ(index.pages(), 3u);
  EXPECT_EQ(index.bytes(), 30u);
  for (uint64_t i = 0; i < 3; ++i) EXPECT_EQ(index.PopLeastRecent()->key, Key(i));
  EXPECT_FALSE(index.PopLeastRecent().has_value());
  EXPECT_EQ(index.bytes(), 0u);
}

TEST(LruIndexTest, TouchMakesPageMostRecent) {
  LruIndex index;
  for (uint64_t i = 0; i < 3; ++i) index.Insert(Key(i), Entry(10, i + 1));
  ASSERT_NE(index.Touch(Key(0)), nullptr);
  EXPECT_EQ(index.PopLeastRecent()->key, Key(1));
  EXPECT_EQ(index.PopLeastRecent()->key, Key(2));
  EXPECT_EQ(index.PopLeastRecent()->key, Key(0));
}

TEST(LruIndexTest, FindDoesNotChangeRecency) {
  LruIndex index;
  index.Insert(Key(0), Entry(10, 1));
  index.Insert(Key(1), Entry(10, 2));
  ASSERT_NE(index.Find(Key(0)), nullptr);
  EXPECT_EQ(index.PopLeastRecent()->key, Key(0));
}

TEST(LruIndexTest, InsertReplacesAndReturnsOldEntry) {
  LruIndex index;
  index.Insert(Key(0), Entry(10, 1));
  auto replaced = index.Insert(Key(0), Entry(25, 2));
  ASSERT_TRUE(replaced.has_value());
  EXPECT_EQ(replaced->generation, 1u);
  EXPECT_EQ(index.pages(), 1u);
  EXPECT_EQ(index.bytes(), 25u);
}

TEST(LruIndexTest, RemoveIfGenerationKeepsNewerVersion) {
  LruIndex index;
  index.Insert(Key(0), Entry(10, 1));
  index.Insert(Key(0), Entry(10, 2));
  EXPECT_FALSE(index.RemoveIfGeneration(Key(0), 1));
  EXPECT_NE(index.Find(Key(0)), nullptr);
  EXPECT_TRUE(index.RemoveIfGeneration(Key(0), 2));
  EXPECT_EQ(index.Find(Key(0)), nullptr);
  EXPECT_EQ(index.bytes(), 0u);
}

TEST(LruIndexTest, PopLeastRecentInPicksOnlyThatDir) {
  LruIndex index;
  index.Insert(Key(0), Entry(10, 1, /*dir=*/0));
  index.Insert(Key(1), Entry(10, 2, /*dir=*/1));
  index.Insert(Key(2), Entry(10, 3, /*dir=*/1));
  EXPECT_EQ(index.PopLeastRecentIn(1)->key, Key(1));
  EXPECT_EQ(index.PopLeastRecentIn(1)->key, Key(2));
  EXPECT_FALSE(index.PopLeastRecentIn(1).has_value());
  EXPECT_EQ(index.pages(), 1u);
}

}  // namespace
}  // namespace alluvium::pagestore
