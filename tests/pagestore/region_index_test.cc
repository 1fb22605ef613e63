#include "pagestore/region_index.h"

#include <gtest/gtest.h>

#include "pagestore/page_record.h"

namespace alluvium::pagestore {
namespace {

constexpr uint64_t kPage = 4096;

PageKey Key(uint64_t index) { return {.file = FileIdOf("file:///f", "v1"), .index = index}; }

// Four writers append to one region; the second one's write fails (a full disk) after the
// third one's succeeded and before the fourth's. A restart's scan stops at the second's slot, and
// the index holds what it would find: the first record stays, the third is dropped although it
// was already served, the fourth is kept out.
TEST(RegionIndexTest, AFailedWriteDropsTheRecordsAfterItAsARestartWould) {
  const uint64_t span = RecordSpan(kPage);
  RegionIndex index({0}, kRegionHeaderSize + 4 * span);
  uint64_t evicted = 0;
  auto first = index.Allocate(0, span, /*epoch=*/1, evicted, /*may_grow=*/true);
  ASSERT_TRUE(first);
  index.FinishNewEpoch(first->region, true);
  auto second = index.Allocate(0, span, 1, evicted, true);
  auto third = index.Allocate(0, span, 1, evicted, true);
  auto fourth = index.Allocate(0, span, 1, evicted, true);
  ASSERT_TRUE(second && third && fourth);
  ASSERT_EQ(third->region, first->region);
  ASSERT_GT(fourth->offset, third->offset);
  ASSERT_GT(third->offset, second->offset);

  auto at = [&](const RegionIndex::Allocation& a) {
    return RegionIndex::Location{
        .region = a.region, .offset = a.offset, .length = kPage, .epoch = a.epoch};
  };
  index.FinishWrite(first->region);
  index.Insert(Key(1), at(*first));
  index.FinishWrite(third->region);
  index.Insert(Key(3), at(*third));
  EXPECT_FALSE(index.BeyondHole(first->region, third->offset));
  const uint64_t bytes_before = index.bytes();

  index.FinishWrite(second->region);
  index.MarkHole(second->region, second->offset);  // the second writer's record failed
  EXPECT_NE(index.Find(Key(1)), nullptr);
  EXPECT_EQ(index.Find(Key(3)), nullptr);
  EXPECT_EQ(index.bytes(), bytes_before - kPage);
  EXPECT_TRUE(index.BeyondHole(first->region, fourth->offset));
  EXPECT_FALSE(index.BeyondHole(first->region, second->offset));
  EXPECT_FALSE(index.BeyondHole(first->region, first->offset));
}

// A key written again later in another region is not the hole's to drop.
TEST(RegionIndexTest, AHoleKeepsAKeyThatWasRewrittenElsewhere) {
  const uint64_t span = RecordSpan(kPage);
  RegionIndex index({0, 0}, kRegionHeaderSize + 2 * span);
  uint64_t evicted = 0;
  auto first = index.Allocate(0, span, 1, evicted, true);
  ASSERT_TRUE(first);
  index.FinishNewEpoch(first->region, true);
  auto second = index.Allocate(0, span, 1, evicted, true);
  ASSERT_TRUE(second);
  index.FinishWrite(second->region);
  index.Insert(Key(7), {.region = second->region,
                        .offset = second->offset,
                        .length = kPage,
                        .epoch = second->epoch});
  auto elsewhere = index.Allocate(0, span, 2, evicted, true);
  ASSERT_TRUE(elsewhere);
  ASSERT_NE(elsewhere->region, first->region);
  index.FinishNewEpoch(elsewhere->region, true);
  index.FinishWrite(elsewhere->region);
  const RegionIndex::Location rewritten{.region = elsewhere->region,
                                        .offset = elsewhere->offset,
                                        .length = kPage,
                                        .epoch = elsewhere->epoch};
  index.Insert(Key(7), rewritten);

  index.FinishWrite(first->region);
  index.MarkHole(first->region, first->offset);
  ASSERT_NE(index.Find(Key(7)), nullptr);
  EXPECT_EQ(*index.Find(Key(7)), rewritten);
}

}  // namespace
}  // namespace alluvium::pagestore
