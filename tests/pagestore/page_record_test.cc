#include "pagestore/page_record.h"

#include <array>
#include <vector>

#include <gtest/gtest.h>

namespace alluvium::pagestore {
namespace {

TEST(PageRecordTest, RecordHeaderRoundTrips) {
  const RecordHeader in{.key = {.file = FileIdOf("file:///a", "v"), .index = 9},
                        .length = 1234,
                        .epoch = 7,
                        .seq = 42,
                        .checksum = 0xabcdef};
  std::array<std::byte, kRecordHeaderSize> bytes;
  EncodeRecordHeader(in, bytes);
  const auto out = DecodeRecordHeader(bytes);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->key, in.key);
  EXPECT_EQ(out->length, 1234u);
  EXPECT_EQ(out->epoch, 7u);
  EXPECT_EQ(out->seq, 42u);
  EXPECT_EQ(out->checksum, 0xabcdefu);
}

TEST(PageRecordTest, AnyFlippedBitOrZerosAreRejected) {
  std::array<std::byte, kRecordHeaderSize> bytes;
  EncodeRecordHeader({.length = 1, .epoch = 1, .seq = 1}, bytes);
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto damaged = bytes;
    damaged[i] ^= std::byte{0x10};
    EXPECT_FALSE(DecodeRecordHeader(damaged).has_value()) << "byte " << i;
  }
  std::array<std::byte, kRecordHeaderSize> zeros{};
  EXPECT_FALSE(DecodeRecordHeader(zeros).has_value());
}

TEST(PageRecordTest, RegionHeaderRoundTripsAndRejectsDamage) {
  std::array<std::byte, kRegionHeaderSize> bytes;
  EncodeRegionHeader({.epoch = 3, .region_size = 1 << 20, .page_size = 4096}, bytes);
  const auto out = DecodeRegionHeader(bytes);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->epoch, 3u);
  EXPECT_EQ(out->region_size, 1u << 20);
  EXPECT_EQ(out->page_size, 4096u);
  bytes[10] ^= std::byte{1};
  EXPECT_FALSE(DecodeRegionHeader(bytes).has_value());
}

TEST(PageRecordTest, RecordSpanPadsToTheAlignment) {
  EXPECT_EQ(RecordSpan(1) % kRecordAlign, 0u);
  EXPECT_GE(RecordSpan(1), kRecordHeaderSize + sizeof(uint64_t) + 1);
  EXPECT_EQ(RecordSpan(kRecordAlign * 10 - RecordDataOffset(1)), kRecordAlign * 10);
}

TEST(PageRecordTest, TheChecksumTableHasAnEntryPerBlockTheLastOneShort) {
  EXPECT_EQ(ChecksumBlocks(1), 1u);
  EXPECT_EQ(ChecksumBlocks(kChecksumBlockSize), 1u);
  EXPECT_EQ(ChecksumBlocks(kChecksumBlockSize + 1), 2u);
  EXPECT_EQ(ChecksumTableBytes(1 << 20), (1 << 20) / kChecksumBlockSize * sizeof(uint64_t));
  EXPECT_EQ(RecordBytes(100), kRecordHeaderSize + sizeof(uint64_t) + 100);

  std::vector<std::byte> data(2 * kChecksumBlockSize + 10);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 7 + i / 1000);
  std::vector<std::byte> table(ChecksumTableBytes(data.size()));
  EncodeChecksumTable(data, table);
  const std::span<const std::byte> all(data);
  EXPECT_TRUE(BlocksMatch(table, 0, all));
  EXPECT_TRUE(BlocksMatch(table, 1, all.subspan(kChecksumBlockSize)));
  EXPECT_TRUE(BlocksMatch(table, 2, all.subspan(2 * kChecksumBlockSize)));
  EXPECT_FALSE(BlocksMatch(table, 1, all.first(kChecksumBlockSize))) << "block 0 is not block 1";
  EXPECT_FALSE(BlocksMatch(table, 3, all.first(10))) << "past the table";

  const uint64_t before = TableChecksum(table);
  data[kChecksumBlockSize + 5] ^= std::byte{1};
  EXPECT_TRUE(BlocksMatch(table, 0, all.first(kChecksumBlockSize))) << "block 0 is untouched";
  EXPECT_FALSE(BlocksMatch(table, 1, all.subspan(kChecksumBlockSize, kChecksumBlockSize)));
  EncodeChecksumTable(data, table);
  EXPECT_NE(TableChecksum(table), before);
}

}  // namespace
}  // namespace alluvium::pagestore
