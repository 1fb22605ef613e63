#include "common/status.h"

#include <gtest/gtest.h>

namespace alluvium {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  ALLUVIUM_ASSIGN_OR_RETURN(int half, Half(x));
  ALLUVIUM_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(StatusTest, AssignOrReturnPropagatesTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), Code::kInvalidArgument);
}

TEST(StatusTest, WithContextKeepsTheCode) {
  Status st = NotFound("x").WithContext("reading /a");
  EXPECT_EQ(st.code(), Code::kNotFound);
  EXPECT_EQ(st.message(), "reading /a: x");
  EXPECT_EQ(st.ToString(), "NOT_FOUND: reading /a: x");
  EXPECT_TRUE(OkStatus().WithContext("ignored").ok());
}

}  // namespace
}  // namespace alluvium
