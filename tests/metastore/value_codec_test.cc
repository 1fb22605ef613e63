#include "metastore/value_codec.h"

#include <string>

#include <gtest/gtest.h>

namespace alluvium::metastore {
namespace {

CachedStatus SampleFile() {
  return {.status = {.uri = "file:///d/f",
                     .is_directory = false,
                     .length = 0x0102030405060708,
                     .mtime_ms = -5,
                     .version = "1700000000123456789-42-77"},
          .cached_at_ms = 1'700'000'000'000};
}

std::string MustEncode(const CachedStatus& cached) {
  Result<std::string> value = EncodeCachedStatus(cached);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? *value : std::string();
}

TEST(ValueCodecTest, FileRoundTrips) {
  const CachedStatus cached = SampleFile();
  Result<CachedStatus> decoded = DecodeCachedStatus("file:///d/f", MustEncode(cached));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, cached);
}

TEST(ValueCodecTest, DirectoryRoundTrips) {
  CachedStatus cached;
  cached.status = {
      .uri = "s3://b/dir", .is_directory = true, .length = 0, .mtime_ms = 9, .version = ""};
  cached.cached_at_ms = 3;
  Result<CachedStatus> decoded = DecodeCachedStatus("s3://b/dir", MustEncode(cached));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, cached);
}

TEST(ValueCodecTest, LayoutIsVersionedLittleEndian) {
  const std::string value = MustEncode(SampleFile());
  ASSERT_EQ(value.size(), 30u + SampleFile().status.version.size());
  EXPECT_EQ(value[0], 1);                            // format version
  EXPECT_EQ(value[1], 0);                            // flags
  EXPECT_EQ(value[2], 0x08);                         // length, least significant byte first
  EXPECT_EQ(static_cast<uint8_t>(value[10]), 0xfb);  // mtime_ms -5
}

TEST(ValueCodecTest, RejectsOversizedVersion) {
  CachedStatus cached = SampleFile();
  cached.status.version.assign(kMaxVersionSize + 1, 'v');
  EXPECT_EQ(EncodeCachedStatus(cached).status().code(), Code::kInvalidArgument);
}

TEST(ValueCodecTest, EveryTruncationIsDataLoss) {
  const std::string value = MustEncode(SampleFile());
  for (size_t size = 0; size < value.size(); ++size) {
    Result<CachedStatus> decoded = DecodeCachedStatus("u", std::string_view(value).substr(0, size));
    ASSERT_FALSE(decoded.ok()) << size;
    EXPECT_EQ(decoded.status().code(), Code::kDataLoss) << size;
  }
}

TEST(ValueCodecTest, TrailingBytesAreDataLoss) {
  EXPECT_EQ(DecodeCachedStatus("u", MustEncode(SampleFile()) + "x").status().code(),
            Code::kDataLoss);
}

TEST(ValueCodecTest, UnknownFormatVersionIsDataLoss) {
  std::string value = MustEncode(SampleFile());
  value[0] = 2;
  Result<CachedStatus> decoded = DecodeCachedStatus("file:///d/f", value);
  EXPECT_EQ(decoded.status().code(), Code::kDataLoss);
  EXPECT_EQ(decoded.status().message(),
            "cached status of 'file:///d/f' is corrupt: unknown format version 2");
}

TEST(ValueCodecTest, UnknownFlagsAreDataLoss) {
  std::string value = MustEncode(SampleFile());
  value[1] = 0x02;
  EXPECT_EQ(DecodeCachedStatus("u", value).status().code(), Code::kDataLoss);
}

TEST(ValueCodecTest, HugeVersionSizeIsDataLoss) {
  std::string value = MustEncode(SampleFile());
  value[29] = '\x7f';  // most significant byte of the version size
  EXPECT_EQ(DecodeCachedStatus("u", value).status().code(), Code::kDataLoss);
}

TEST(ValueCodecTest, GarbageIsDataLoss) {
  for (std::string_view garbage : {"", "garbage", "\x01", "\xff\xff\xff\xff"}) {
    EXPECT_EQ(DecodeCachedStatus("u", garbage).status().code(), Code::kDataLoss) << garbage;
  }
}

}  // namespace
}  // namespace alluvium::metastore
