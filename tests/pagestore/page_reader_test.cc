#include "pagestore/page_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "common/scoped_fd.h"
#include "pagestore/page_record.h"
#include "testing/scoped_temp_dir.h"

namespace alluvium::pagestore {
namespace {

using ::alluvium::testing::ScopedTempDir;

constexpr uint64_t kBlock = kChecksumBlockSize;
constexpr uint64_t kRecordAt = 4096;  // where the test's record starts in its file

// A file holding one record's checksum table and data (the header is not read by ReadPageRange)
// at kRecordAt + kRecordHeaderSize, with the extent a page store would hand out for it.
class PageReaderTest : public ::testing::Test {
 protected:
  void Write(uint64_t length) {
    data_.resize(length);
    for (uint64_t i = 0; i < length; ++i) data_[i] = static_cast<std::byte>((i * 31) ^ (i >> 9));
    std::vector<std::byte> table(ChecksumTableBytes(length));
    EncodeChecksumTable(data_, table);
    fd_ = ScopedFd(::open((dir_.path() / "region").c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644));
    ASSERT_TRUE(fd_.valid());
    const uint64_t at = kRecordAt + kRecordHeaderSize;
    ASSERT_EQ(::pwrite(fd_.get(), table.data(), table.size(), at),
              static_cast<ssize_t>(table.size()));
    ASSERT_EQ(::pwrite(fd_.get(), data_.data(), length, at + table.size()),
              static_cast<ssize_t>(length));
    extent_ = {.fd = fd_.get(), .offset = at, .length = length, .checksum = TableChecksum(table)};
  }

  // Reads [from, to) and compares it with what was written; the status otherwise.
  Code ReadAndCompare(uint64_t from, uint64_t to) {
    std::vector<std::byte> out(to - from + 16, std::byte{0x5a});
    const Status st = ReadPageRange(extent_, from, to, out.data());
    if (!st.ok()) return st.code();
    EXPECT_EQ(std::memcmp(out.data(), data_.data() + from, to - from), 0) << from << ".." << to;
    for (size_t i = to - from; i < out.size(); ++i) {
      EXPECT_EQ(out[i], std::byte{0x5a}) << "wrote past the range at " << from << ".." << to;
    }
    return Code::kOk;
  }

  void Flip(uint64_t offset_in_data) {
    std::byte b;
    const uint64_t at = extent_.offset + ChecksumTableBytes(extent_.length) + offset_in_data;
    ASSERT_EQ(::pread(fd_.get(), &b, 1, at), 1);
    b ^= std::byte{0x40};
    ASSERT_EQ(::pwrite(fd_.get(), &b, 1, at), 1);
  }

  ScopedTempDir dir_;
  ScopedFd fd_;
  std::vector<std::byte> data_;
  PageExtent extent_;
};

TEST_F(PageReaderTest, EveryKindOfRangeReadsBackExactly) {
  Write(16 * kBlock);
  const uint64_t n = 16 * kBlock;
  const std::vector<std::pair<uint64_t, uint64_t>> ranges = {
      {0, n},                                 // the whole page
      {0, 1},                                 // a byte at the start
      {n - 1, n},                             // a byte at the end
      {4096, 8192},                           // inside block 0
      {5 * kBlock + 100, 5 * kBlock + 4196},  // inside a later block
      {kBlock, 2 * kBlock},                   // one whole block
      {kBlock - 10, kBlock + 10},             // across a block boundary
      {100, 7 * kBlock + 5},                  // partial, whole blocks, partial
      {3 * kBlock, 9 * kBlock},               // whole blocks only, not from the start
      {3 * kBlock, n},                        // to the end
      {kBlock + 1, n}};                       // a partial first block, then to the end
  for (const auto& [from, to] : ranges) EXPECT_EQ(ReadAndCompare(from, to), Code::kOk);
}

TEST_F(PageReaderTest, AShortLastPageAndATinyOne) {
  Write(2 * kBlock + 300);
  EXPECT_EQ(ReadAndCompare(0, 2 * kBlock + 300), Code::kOk);
  EXPECT_EQ(ReadAndCompare(2 * kBlock + 1, 2 * kBlock + 300), Code::kOk);
  EXPECT_EQ(ReadAndCompare(kBlock + 7, 2 * kBlock + 299), Code::kOk);
  Write(4096);
  EXPECT_EQ(ReadAndCompare(0, 4096), Code::kOk);
  EXPECT_EQ(ReadAndCompare(10, 20), Code::kOk);
}

TEST_F(PageReaderTest, DamageIsFoundByEveryReadOfItsBlockAndOnlyThose) {
  Write(8 * kBlock);
  Flip(5 * kBlock + 1234);
  EXPECT_EQ(ReadAndCompare(0, 8 * kBlock), Code::kDataLoss);
  EXPECT_EQ(ReadAndCompare(5 * kBlock + 1000, 5 * kBlock + 1001), Code::kDataLoss)
      << "a read of one byte of the damaged block reads and checks the whole block";
  EXPECT_EQ(ReadAndCompare(4 * kBlock, 6 * kBlock), Code::kDataLoss);
  EXPECT_EQ(ReadAndCompare(0, 5 * kBlock), Code::kOk) << "the blocks before it are intact";
  EXPECT_EQ(ReadAndCompare(6 * kBlock + 3, 8 * kBlock), Code::kOk) << "and those after it";
}

TEST_F(PageReaderTest, ADamagedTableOrAnotherPagesChecksumFailsEveryRead) {
  Write(4 * kBlock);
  const uint64_t good = extent_.checksum;
  extent_.checksum = good + 1;  // the record of another page, or a reused region
  EXPECT_EQ(ReadAndCompare(0, 10), Code::kDataLoss);
  EXPECT_EQ(ReadAndCompare(3 * kBlock, 3 * kBlock + 10), Code::kDataLoss);
  extent_.checksum = good;
  std::byte b{0x01};
  ASSERT_EQ(::pwrite(fd_.get(), &b, 1, extent_.offset + 9), 1);  // the table's second entry
  EXPECT_EQ(ReadAndCompare(0, 10), Code::kDataLoss);
  EXPECT_EQ(ReadAndCompare(2 * kBlock, 2 * kBlock + 10), Code::kDataLoss);
}

TEST_F(PageReaderTest, AFileThatEndsInsideThePageIsDataLossAndBadRangesAreRefused) {
  Write(4 * kBlock);
  ASSERT_EQ(::ftruncate(fd_.get(), static_cast<off_t>(extent_.offset + 3 * kBlock)), 0);
  EXPECT_EQ(ReadAndCompare(3 * kBlock + 5, 3 * kBlock + 10), Code::kDataLoss);
  EXPECT_EQ(ReadAndCompare(0, 10), Code::kOk) << "block 0 is still whole";
  std::byte out[8];
  EXPECT_EQ(ReadPageRange(extent_, 5, 5, out).code(), Code::kInvalidArgument);
  EXPECT_EQ(ReadPageRange(extent_, 0, 4 * kBlock + 1, out).code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace alluvium::pagestore
