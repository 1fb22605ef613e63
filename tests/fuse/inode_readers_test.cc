// InodeReaders: one reader per inode, made once, at most `capacity` kept (least recently read
// out), a failed make keeps nothing, Drop and Clear forget.
#include "fuse/inode_readers.h"

#include <map>

#include <gtest/gtest.h>

namespace alluvium::fuse {
namespace {

class InodeReadersTest : public ::testing::Test {
 protected:
  InodeReaders::Make Counting() {
    return [this](uint64_t inode) -> Result<std::shared_ptr<FileReader>> {
      ++made_[inode];
      if (inode == kBad) return NotFound("no such inode");
      return std::make_shared<FileReader>(
          10, ReadAheadOptions{},
          [](uint64_t, std::span<std::byte> out) -> Result<size_t> { return out.size(); });
    };
  }
  static constexpr uint64_t kBad = 99;
  std::map<uint64_t, int> made_;
};

TEST_F(InodeReadersTest, OneReaderPerInodeMadeOnce) {
  InodeReaders readers(4, Counting());
  auto first = readers.Get(1);
  ASSERT_TRUE(first.ok());
  auto second = readers.Get(1);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(made_[1], 1);
  EXPECT_EQ(readers.size(), 1u);
}

TEST_F(InodeReadersTest, AtMostCapacityLeastRecentlyReadOut) {
  InodeReaders readers(2, Counting());
  ASSERT_TRUE(readers.Get(1).ok());
  ASSERT_TRUE(readers.Get(2).ok());
  ASSERT_TRUE(readers.Get(1).ok());  // 2 is now the least recently read
  ASSERT_TRUE(readers.Get(3).ok());
  EXPECT_EQ(readers.size(), 2u);
  ASSERT_TRUE(readers.Get(1).ok());
  EXPECT_EQ(made_[1], 1);
  ASSERT_TRUE(readers.Get(2).ok());  // made again
  EXPECT_EQ(made_[2], 2);
}

TEST_F(InodeReadersTest, AFailedMakeKeepsNothingAndIsAskedAgain) {
  InodeReaders readers(2, Counting());
  EXPECT_EQ(readers.Get(kBad).status().code(), Code::kNotFound);
  EXPECT_EQ(readers.Get(kBad).status().code(), Code::kNotFound);
  EXPECT_EQ(made_[kBad], 2);
  EXPECT_EQ(readers.size(), 0u);
}

TEST_F(InodeReadersTest, DropAndClearForget) {
  InodeReaders readers(4, Counting());
  for (uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(readers.Get(i).ok());
  readers.Drop(2);
  readers.Drop(7);  // unknown: nothing happens
  EXPECT_EQ(readers.size(), 2u);
  ASSERT_TRUE(readers.Get(2).ok());
  EXPECT_EQ(made_[2], 2);
  readers.Clear();
  EXPECT_EQ(readers.size(), 0u);
  ASSERT_TRUE(readers.Get(4).ok());  // still usable, order list included
  EXPECT_EQ(readers.size(), 1u);
}

}  // namespace
}  // namespace alluvium::fuse
