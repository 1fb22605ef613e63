// LruMap: at most `capacity` entries, the least recently found or put one dropped first.
#include "common/lru_map.h"

#include <string>

#include <gtest/gtest.h>

namespace alluvium {
namespace {

TEST(LruMapTest, KeepsTheMostRecentlyUsedWithinTheCapacity) {
  LruMap<std::string, int> map(2);
  map.Put("a", 1);
  map.Put("b", 2);
  ASSERT_NE(map.Find("a"), nullptr);  // b is now the least recently used
  map.Put("c", 3);
  EXPECT_EQ(map.size(), 2u);
  EXPECT_EQ(map.Find("b"), nullptr);
  EXPECT_EQ(*map.Find("a"), 1);
  EXPECT_EQ(*map.Find("c"), 3);
}

TEST(LruMapTest, PutReplacesAndRefreshes) {
  LruMap<std::string, int> map(2);
  map.Put("a", 1);
  map.Put("b", 2);
  map.Put("a", 10);  // b is now the least recently used
  map.Put("c", 3);
  EXPECT_EQ(map.Find("b"), nullptr);
  EXPECT_EQ(*map.Find("a"), 10);
}

TEST(LruMapTest, EraseClearAndZeroCapacity) {
  LruMap<int, int> map(3);
  for (int i = 0; i < 3; ++i) map.Put(i, i);
  map.Erase(1);
  map.Erase(7);  // absent: nothing happens
  EXPECT_EQ(map.size(), 2u);
  EXPECT_EQ(map.Find(1), nullptr);
  map.Put(3, 3);
  map.Put(4, 4);  // 0 goes: 2, 3, 4 stay
  EXPECT_EQ(map.Find(0), nullptr);
  EXPECT_EQ(map.size(), 3u);
  map.Clear();
  EXPECT_EQ(map.size(), 0u);
  map.Put(5, 5);
  EXPECT_EQ(*map.Find(5), 5);

  LruMap<int, int> none(0);
  none.Put(1, 1);
  EXPECT_EQ(none.size(), 0u);
  EXPECT_EQ(none.Find(1), nullptr);
}

}  // namespace
}  // namespace alluvium
