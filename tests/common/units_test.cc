#include "common/units.h"

#include <gtest/gtest.h>

namespace alluvium {
namespace {

TEST(UnitsTest, ParsesSizesAs1024Based) {
  EXPECT_EQ(*ParseSize("1048576"), 1048576u);
  EXPECT_EQ(*ParseSize("64KB"), 64u * 1024);
  EXPECT_EQ(*ParseSize("1MB"), 1u << 20);
  EXPECT_EQ(*ParseSize("1MiB"), 1u << 20);
  EXPECT_EQ(*ParseSize("10m"), 10u << 20);
  EXPECT_EQ(*ParseSize("1.5GB"), 3ull << 29);
  EXPECT_EQ(ParseSize("fast").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseSize("-1").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseSize("10XB").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseSize("99999999PB").status().code(), Code::kInvalidArgument);
}

// Found by fuzz/units_fuzzer: whole numbers went through a double and lost their low bits
// above 2^53.
TEST(UnitsTest, ParsesWholeSizesExactly) {
  EXPECT_EQ(*ParseSize("9007199254740993"), 9007199254740993u);
  EXPECT_EQ(*ParseSize("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(*ParseSize("16383PB"), 16383ull << 50);
  EXPECT_EQ(ParseSize("18446744073709551616").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseSize("16384PB").status().code(), Code::kInvalidArgument);
}

TEST(UnitsTest, ParsesDurations) {
  EXPECT_EQ(ParseDuration("500ms")->count(), 500);
  EXPECT_EQ(ParseDuration("10s")->count(), 10000);
  EXPECT_EQ(ParseDuration("5min")->count(), 300000);
  EXPECT_EQ(ParseDuration("7d")->count(), 7 * 86400000ll);
  EXPECT_EQ(ParseDuration("1000")->count(), 1000);
  EXPECT_EQ(ParseDuration("soon").status().code(), Code::kInvalidArgument);
}

TEST(UnitsTest, FormatsSizesLikeAlluxio) {
  EXPECT_EQ(FormatSize(0), "0B");
  EXPECT_EQ(FormatSize(5 * 1024), "5120B");
  EXPECT_EQ(FormatSize(5 * 1024 + 1), "5.00KB");
  EXPECT_EQ(FormatSize(131072000), "125.00MB");
  EXPECT_EQ(FormatSize(2570035), "2509.80KB");
  EXPECT_EQ(FormatSize(1ull << 40), "1024.00GB");
}

TEST(UnitsTest, FormatsCapacitiesInMiB) {
  EXPECT_EQ(FormatMiB(0), "0 MiB");
  EXPECT_EQ(FormatMiB(1), "0.1 MiB");
  EXPECT_EQ(FormatMiB(2 << 20), "2.0 MiB");
  EXPECT_EQ(FormatMiB(432013312), "412.0 MiB");
  EXPECT_EQ(FormatMiB(uint64_t{3} << 40), "3145728.0 MiB");
}

TEST(UnitsTest, ParsesBooleans) {
  EXPECT_TRUE(*ParseBool("true"));
  EXPECT_TRUE(*ParseBool("TRUE"));
  EXPECT_FALSE(*ParseBool("false"));
  EXPECT_EQ(ParseBool("maybe").status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace alluvium
