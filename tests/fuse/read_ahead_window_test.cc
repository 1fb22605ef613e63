#include "fuse/read_ahead_window.h"

#include <gtest/gtest.h>

namespace alluvium::fuse {
namespace {

constexpr uint64_t kPart = 4 << 20;
constexpr uint64_t kRead = 128 << 10;

TEST(ReadAheadWindowTest, SequentialMissesDoubleTheWindowUpToItsCap) {
  ReadAheadWindow w({.part_size = kPart, .max_parts = 8});
  uint64_t offset = 0;
  for (const uint64_t parts : {1, 2, 4, 8, 8, 8}) {
    const uint64_t fetch = w.OnMiss(offset, kRead);
    EXPECT_EQ(fetch, parts * kPart) << offset;
    // The reads the window serves, then the next miss where it ends.
    for (uint64_t o = offset + kRead; o < offset + fetch; o += kRead) w.OnHit(o, kRead);
    offset += fetch;
  }
  EXPECT_EQ(w.window_bytes(), w.max_bytes());
  EXPECT_EQ(w.max_bytes(), 32u << 20);
}

TEST(ReadAheadWindowTest, RandomReadsFetchWhatTheyAskAndStartGrowthOver) {
  ReadAheadWindow w({.part_size = kPart, .max_parts = 8});
  EXPECT_EQ(w.OnMiss(0, kRead), kPart);
  EXPECT_EQ(w.OnMiss(kRead, kRead), 2 * kPart);
  EXPECT_EQ(w.OnMiss(100 << 20, 4096), 4096u);  // a jump: random
  EXPECT_EQ(w.window_bytes(), 0u);
  EXPECT_EQ(w.OnMiss(7 << 20, 4096), 4096u);  // backwards: random
  // Reading on from the random read's end is sequential again, from one part.
  EXPECT_EQ(w.OnMiss((7 << 20) + 4096, kRead), kPart);
}

TEST(ReadAheadWindowTest, AReadLargerThanTheWindowFetchesItsSize) {
  ReadAheadWindow w({.part_size = 1 << 20, .max_parts = 8});
  EXPECT_EQ(w.OnMiss(0, 3 << 20), 3u << 20);
}

TEST(ReadAheadWindowTest, AnEarlierRangeServedLateKeepsTheReaderSequential) {
  ReadAheadWindow w({.part_size = kPart, .max_parts = 8});
  EXPECT_EQ(w.OnMiss(0, kRead), kPart);
  w.OnHit(2 * kRead, kRead);
  w.OnHit(kRead, kRead);  // sent before, served after
  EXPECT_EQ(w.OnMiss(3 * kRead, kRead), 2 * kPart);
}

TEST(ReadAheadWindowTest, NoPartsMeansNoReadAhead) {
  ReadAheadWindow w({.part_size = kPart, .max_parts = 0});
  EXPECT_EQ(w.OnMiss(0, kRead), kRead);
  EXPECT_EQ(w.OnMiss(kRead, kRead), kRead);
}

}  // namespace
}  // namespace alluvium::fuse
