#include "common/paths.h"

#include <gtest/gtest.h>

namespace alluvium {
namespace {

TEST(PathsTest, NormalizeCollapsesDotsAndSlashes) {
  EXPECT_EQ(*NormalizePath("/a//b/./c/../d/"), "/a/b/d");
  EXPECT_EQ(*NormalizePath("/"), "/");
  EXPECT_EQ(*NormalizePath("/a/.."), "/");
}

TEST(PathsTest, NormalizeRejectsWhatCouldEscapeOrConfuse) {
  EXPECT_EQ(NormalizePath("/../etc").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(NormalizePath("/a/../../etc").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(NormalizePath("relative").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(NormalizePath("").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(NormalizePath(std::string("/a\0b", 4)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(NormalizePath("/" + std::string(kMaxPathLength, 'x')).status().code(),
            Code::kInvalidArgument);
}

TEST(PathsTest, PrefixComparesWholeComponents) {
  EXPECT_TRUE(IsPathPrefix("/a", "/a"));
  EXPECT_TRUE(IsPathPrefix("/a", "/a/b"));
  EXPECT_FALSE(IsPathPrefix("/a", "/ab"));
  EXPECT_TRUE(IsPathPrefix("/", "/anything"));
  EXPECT_EQ(JoinPath("/a", "b/c"), "/a/b/c");
  EXPECT_EQ(JoinPath("/", "b"), "/b");
  EXPECT_EQ(JoinPath("/a", ""), "/a");
  EXPECT_EQ(BaseName("/a/b"), "b");
}

}  // namespace
}  // namespace alluvium
