#include "pagestore/page_key.h"

#include <unordered_set>

#include <gtest/gtest.h>

namespace alluvium::pagestore {
namespace {

TEST(FileIdTest, HexRoundTrips) {
  const FileId id = FileIdOf("s3://bucket/a/b.parquet", "etag-1");
  const std::string hex = id.ToHex();
  EXPECT_EQ(hex.size(), 32u);
  auto parsed = FileId::FromHex(hex);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, id);
}

TEST(FileIdTest, HexKeepsLeadingZeros) {
  const FileId id{.hi = 1, .lo = 2};
  EXPECT_EQ(id.ToHex(), "00000000000000010000000000000002");
  EXPECT_EQ(*FileId::FromHex("00000000000000010000000000000002"), id);
  EXPECT_EQ(*FileId::FromHex("0000000000000001000000000000000A"), (FileId{.hi = 1, .lo = 10}));
}

TEST(FileIdTest, FromHexRejectsBadInput) {
  EXPECT_EQ(FileId::FromHex("").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(FileId::FromHex("abc").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(FileId::FromHex(std::string(31, '0') + "g").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(FileId::FromHex(std::string(33, '0')).status().code(), Code::kInvalidArgument);
}

TEST(FileIdTest, DifferentVersionsGiveDifferentIds) {
  EXPECT_NE(FileIdOf("s3://b/f", "v1"), FileIdOf("s3://b/f", "v2"));
  EXPECT_NE(FileIdOf("s3://b/f", "v1"), FileIdOf("s3://b/g", "v1"));
  EXPECT_EQ(FileIdOf("s3://b/f", "v1"), FileIdOf("s3://b/f", "v1"));
}

TEST(FileIdTest, UriAndVersionDoNotRunTogether) {
  EXPECT_NE(FileIdOf("ab", "c"), FileIdOf("a", "bc"));
}

TEST(PageKeyTest, FormatsAsPageFileName) {
  const PageKey key{.file = FileId{.hi = 0xab, .lo = 0xcd}, .index = 7};
  EXPECT_EQ(fmt::format("{}", key), "00000000000000ab00000000000000cd_7");
}

TEST(PageKeyTest, HashSpreadsPagesOfOneFile) {
  const FileId file = FileIdOf("s3://b/f", "v1");
  std::unordered_set<size_t> hashes;
  for (uint64_t i = 0; i < 1000; ++i) hashes.insert(PageKeyHash()({.file = file, .index = i}));
  EXPECT_EQ(hashes.size(), 1000u);
}

}  // namespace
}  // namespace alluvium::pagestore
