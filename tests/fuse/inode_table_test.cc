#include "fuse/inode_table.h"

#include <gtest/gtest.h>

namespace alluvium::fuse {
namespace {

TEST(InodeTableTest, RootIsTheMountedPathAndNeverForgotten) {
  InodeTable table("/data");
  EXPECT_EQ(table.PathOf(InodeTable::kRootInode), "/data");
  table.Forget(InodeTable::kRootInode, 100);
  EXPECT_EQ(table.PathOf(InodeTable::kRootInode), "/data");
  EXPECT_EQ(table.size(), 1u);
}

TEST(InodeTableTest, APathKeepsItsInodeUntilEveryLookupIsForgotten) {
  InodeTable table("/");
  const uint64_t a = table.Remember("/a");
  EXPECT_NE(a, InodeTable::kRootInode);
  EXPECT_EQ(table.Remember("/a"), a);
  EXPECT_NE(table.Remember("/b"), a);
  EXPECT_EQ(table.size(), 3u);

  table.Forget(a, 1);
  EXPECT_EQ(table.PathOf(a), "/a");
  table.Forget(a, 1);
  EXPECT_EQ(table.PathOf(a), std::nullopt);
  EXPECT_EQ(table.size(), 2u);
  // A forgotten inode number is not handed out again: the kernel may still hold stale replies.
  EXPECT_NE(table.Remember("/a"), a);
}

TEST(InodeTableTest, ForgettingMoreThanWasLookedUpOrAnUnknownInodeIsHarmless) {
  InodeTable table("/");
  const uint64_t a = table.Remember("/a");
  table.Forget(a, 5);
  EXPECT_EQ(table.PathOf(a), std::nullopt);
  table.Forget(a, 1);
  table.Forget(12345, 1);
  EXPECT_EQ(table.size(), 1u);
}

TEST(InodeTableTest, ChildPathJoinsOneComponent) {
  InodeTable table("/data");
  EXPECT_EQ(*table.ChildPath(InodeTable::kRootInode, "x.bin"), "/data/x.bin");
  const uint64_t sub = table.Remember("/data/sub");
  EXPECT_EQ(*table.ChildPath(sub, "y"), "/data/sub/y");
  InodeTable at_root("/");
  EXPECT_EQ(*at_root.ChildPath(InodeTable::kRootInode, "x"), "/x");
}

TEST(InodeTableTest, ChildPathRefusesNamesThatAreNotOneComponentAndUnknownParents) {
  InodeTable table("/data");
  for (std::string_view bad : {"", ".", "..", "a/b", "/"}) {
    EXPECT_EQ(table.ChildPath(InodeTable::kRootInode, bad).status().code(), Code::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(table.ChildPath(999, "x").status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace alluvium::fuse
