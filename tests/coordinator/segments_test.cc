#include "coordinator/scheduler/segments.h"

#include <gtest/gtest.h>

namespace alluvium::coordinator {
namespace {

ufs::FileStatus File(uint64_t length) {
  return {.uri = "file:///d/a", .length = length, .version = "v1"};
}

TEST(SegmentsTest, SplitsAFileIntoFullSegmentsAndAShorterLastOne) {
  const auto segments = SegmentsOf(File(250), 100, /*metadata_only=*/false);
  ASSERT_EQ(segments.size(), 3u);
  EXPECT_EQ(segments[0].offset, 0u);
  EXPECT_EQ(segments[0].length, 100u);
  EXPECT_EQ(segments[1].offset, 100u);
  EXPECT_EQ(segments[2].offset, 200u);
  EXPECT_EQ(segments[2].length, 50u);
  EXPECT_EQ(segments[2].status, File(250));
}

TEST(SegmentsTest, AnExactMultipleHasNoEmptyTail) {
  const auto segments = SegmentsOf(File(200), 100, /*metadata_only=*/false);
  ASSERT_EQ(segments.size(), 2u);
  EXPECT_EQ(segments[1].length, 100u);
}

TEST(SegmentsTest, AnEmptyFileOrMetadataOnlyIsOneSegmentOfNoBytes) {
  for (const auto& segments :
       {SegmentsOf(File(0), 100, false), SegmentsOf(File(250), 100, /*metadata_only=*/true)}) {
    ASSERT_EQ(segments.size(), 1u);
    EXPECT_EQ(segments[0].offset, 0u);
    EXPECT_EQ(segments[0].length, 0u);
  }
}

TEST(SegmentsTest, AZeroSegmentSizeCountsAsOneByte) {
  EXPECT_EQ(SegmentsOf(File(3), 0, false).size(), 3u);
}

}  // namespace
}  // namespace alluvium::coordinator
