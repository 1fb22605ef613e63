#include "pagestore/region_index.h"

#include <gtest/gtest.h>

#include "pagestore/page_record.h"

namespace alluvium::pagestore {
namespace {

constexpr uint64_t kPage = 4096;

PageKey Key(uint64_t index) { return {.file = FileIdOf("file:///f", "v1"), .index = index}; }

// Three writers append to one region; the first one's write fails (a full disk) after the
// second one's succeeded and before the third's. A restart's scan stops at the first's slot: the
// third's record is kept out of the index; the second's, already served, stays.
TEST(RegionIndexTest, RecordsFinishedAfterAFailedWriteAreKeptOut) {
  const uint64_t span = RecordSpan(kPage);
  RegionIndex index({0}, kRegionHeaderSize + 4 * span);
  uint64_t evicted = 0;
  auto first = index.Allocate(0, span, /*epoch=*/1, evicted, /*may_grow=*/true);
  ASSERT_TRUE(first);
  index.FinishNewEpoch(first->region, true);
  auto second = index.Allocate(0, span, 1, evicted, true);
  auto third = index.Allocate(0, span, 1, evicted, true);
  ASSERT_TRUE(second && third);
  ASSERT_EQ(second->region, first->region);
  ASSERT_GT(third->offset, second->offset);

  auto at = [&](const RegionIndex::Allocation& a) {
    return RegionIndex::Location{
        .region = a.region, .offset = a.offset, .length = kPage, .epoch = a.epoch};
  };
  index.FinishWrite(second->region);
  index.Insert(Key(2), at(*second));
  EXPECT_FALSE(index.BeyondHole(first->region, second->offset));

  index.FinishWrite(first->region);
  index.MarkHole(first->region, first->offset);  // the first writer's record failed
  EXPECT_NE(index.Find(Key(2)), nullptr);
  EXPECT_TRUE(index.BeyondHole(first->region, third->offset));
  EXPECT_FALSE(index.BeyondHole(first->region, first->offset));
}

}  // namespace
}  // namespace alluvium::pagestore
