#include "pagestore/page_file.h"

#include <filesystem>
#include <fstream>
#include <vector>

#include <gtest/gtest.h>

#include "testing/scoped_temp_dir.h"

namespace alluvium::pagestore {
namespace {

using ::alluvium::testing::ScopedTempDir;

constexpr uint64_t kMax = 64 << 10;

std::vector<std::byte> Bytes(size_t n, int seed = 0) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 31 + seed) & 0xff);
  return v;
}

class PageFileTest : public ::testing::Test {
 protected:
  std::string Path(std::string_view name) const { return (dir_.path() / name).string(); }

  ScopedTempDir dir_;
  const PageKey key_{.file = FileIdOf("s3://b/f", "v1"), .index = 3};
};

TEST_F(PageFileTest, WrittenPageReadsBackAndLeavesNoTempFile) {
  const auto data = Bytes(5000);
  ASSERT_TRUE(WritePageFile(Path("t"), Path("p"), key_, data).ok());
  EXPECT_FALSE(std::filesystem::exists(Path("t")));
  EXPECT_EQ(std::filesystem::file_size(Path("p")), 5000 + kPageFooterSize);

  std::vector<std::byte> out(5000);
  auto n = ReadPageFile(Path("p"), key_, kMax, 0, out);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 5000u);
  EXPECT_EQ(out, data);
}

TEST_F(PageFileTest, PartialReadCopiesTheRange) {
  const auto data = Bytes(5000);
  ASSERT_TRUE(WritePageFile(Path("t"), Path("p"), key_, data).ok());
  std::vector<std::byte> out(100);
  ASSERT_EQ(*ReadPageFile(Path("p"), key_, kMax, 4950, out), 50u);
  EXPECT_TRUE(std::equal(out.begin(), out.begin() + 50, data.begin() + 4950));
  EXPECT_EQ(*ReadPageFile(Path("p"), key_, kMax, 5000, out), 0u);
  EXPECT_EQ(*ReadPageFile(Path("p"), key_, kMax, 1 << 20, out), 0u);
}

TEST_F(PageFileTest, MissingFileIsNotFound) {
  std::vector<std::byte> out(10);
  EXPECT_EQ(ReadPageFile(Path("nope"), key_, kMax, 0, out).status().code(), Code::kNotFound);
  EXPECT_EQ(InspectPageFile(Path("nope"), key_, kMax).status().code(), Code::kNotFound);
}

TEST_F(PageFileTest, FileOfAnotherPageIsDataLoss) {
  ASSERT_TRUE(WritePageFile(Path("t"), Path("p"), key_, Bytes(100)).ok());
  PageKey other = key_;
  other.index = 4;
  std::vector<std::byte> out(100);
  EXPECT_EQ(ReadPageFile(Path("p"), other, kMax, 0, out).status().code(), Code::kDataLoss);
  EXPECT_EQ(InspectPageFile(Path("p"), other, kMax).status().code(), Code::kDataLoss);
}

TEST_F(PageFileTest, PageLongerThanMaxLengthIsDataLoss) {
  ASSERT_TRUE(WritePageFile(Path("t"), Path("p"), key_, Bytes(5000)).ok());
  std::vector<std::byte> out(5000);
  EXPECT_EQ(ReadPageFile(Path("p"), key_, 4096, 0, out).status().code(), Code::kDataLoss);
  EXPECT_EQ(InspectPageFile(Path("p"), key_, 4096).status().code(), Code::kDataLoss);
}

TEST_F(PageFileTest, InspectChecksFooterButNotData) {
  ASSERT_TRUE(WritePageFile(Path("t"), Path("p"), key_, Bytes(100)).ok());
  {
    std::fstream f(Path("p"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.put('\x7f');
  }
  auto info = InspectPageFile(Path("p"), key_, kMax);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->length, 100u);
  std::vector<std::byte> out(100);
  EXPECT_EQ(ReadPageFile(Path("p"), key_, kMax, 0, out).status().code(), Code::kDataLoss);
}

TEST_F(PageFileTest, TruncatedFileIsDataLoss) {
  ASSERT_TRUE(WritePageFile(Path("t"), Path("p"), key_, Bytes(100)).ok());
  std::filesystem::resize_file(Path("p"), 120);
  std::vector<std::byte> out(100);
  EXPECT_EQ(ReadPageFile(Path("p"), key_, kMax, 0, out).status().code(), Code::kDataLoss);
  EXPECT_EQ(InspectPageFile(Path("p"), key_, kMax).status().code(), Code::kDataLoss);
  std::filesystem::resize_file(Path("p"), 10);  // shorter than a footer
  EXPECT_EQ(ReadPageFile(Path("p"), key_, kMax, 0, out).status().code(), Code::kDataLoss);
}

TEST_F(PageFileTest, WriteReplacesExistingPage) {
  ASSERT_TRUE(WritePageFile(Path("t"), Path("p"), key_, Bytes(100, 1)).ok());
  ASSERT_TRUE(WritePageFile(Path("t"), Path("p"), key_, Bytes(200, 2)).ok());
  std::vector<std::byte> out(300);
  ASSERT_EQ(*ReadPageFile(Path("p"), key_, kMax, 0, out), 200u);
  out.resize(200);
  EXPECT_EQ(out, Bytes(200, 2));
}

TEST_F(PageFileTest, WriteIntoMissingDirFailsAndLeavesNothing) {
  EXPECT_EQ(WritePageFile(Path("t"), Path("no/such/p"), key_, Bytes(10)).code(), Code::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(Path("t")));
}

}  // namespace
}  // namespace alluvium::pagestore
