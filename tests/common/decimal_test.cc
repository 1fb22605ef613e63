#include "common/decimal.h"

#include <cstdint>

#include <gtest/gtest.h>

namespace alluvium {
namespace {

TEST(DecimalTest, TakesOnlyAWholeRunOfDigits) {
  EXPECT_EQ(ParseDecimal<uint64_t>("0"), 0u);
  EXPECT_EQ(ParseDecimal<uint64_t>("007"), 7u);
  EXPECT_EQ(ParseDecimal<uint64_t>("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(ParseDecimal<int64_t>("10000"), 10000);
  for (const char* bad : {"", " 1", "1 ", "12abc", "1.5", "+1", "-1", "0x10", "1e3"}) {
    EXPECT_FALSE(ParseDecimal<uint64_t>(bad)) << '"' << bad << '"';
    EXPECT_FALSE(ParseDecimal<int>(bad)) << '"' << bad << '"';
  }
}

TEST(DecimalTest, RefusesWhatDoesNotFitTheType) {
  EXPECT_FALSE(ParseDecimal<uint64_t>("18446744073709551616"));
  EXPECT_EQ(ParseDecimal<int>("2147483647"), 2147483647);
  EXPECT_FALSE(ParseDecimal<int>("2147483648"));
  EXPECT_FALSE(ParseDecimal<uint8_t>("256"));
}

}  // namespace
}  // namespace alluvium
