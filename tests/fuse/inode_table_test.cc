#include "fuse/inode_table.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace alluvium::fuse {
namespace {

TEST(InodeTableTest, RootIsTheMountedPathAndNeverForgotten) {
  InodeTable table("/data");
  EXPECT_EQ(table.PathOf(InodeTable::kRootInode), "/data");
  EXPECT_FALSE(table.Forget(InodeTable::kRootInode, 100));
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

  EXPECT_FALSE(table.Forget(a, 1));
  EXPECT_EQ(table.PathOf(a), "/a");
  EXPECT_TRUE(table.Forget(a, 1));
  EXPECT_EQ(table.PathOf(a), std::nullopt);
  EXPECT_EQ(table.size(), 2u);
  // A forgotten inode number is not handed out again: the kernel may still hold stale replies.
  EXPECT_NE(table.Remember("/a"), a);
}

TEST(InodeTableTest, ForgettingMoreThanWasLookedUpOrAnUnknownInodeIsHarmless) {
  InodeTable table("/");
  const uint64_t a = table.Remember("/a");
  EXPECT_TRUE(table.Forget(a, 5));
  EXPECT_EQ(table.PathOf(a), std::nullopt);
  EXPECT_FALSE(table.Forget(a, 1));
  EXPECT_FALSE(table.Forget(12345, 1));
  EXPECT_EQ(table.size(), 1u);
}

TEST(InodeTableTest, LiveListsWhatTheKernelMayStillAskAbout) {
  InodeTable table("/data");
  const uint64_t a = table.Remember("/data/a");
  const uint64_t b = table.Remember("/data/b");
  table.Forget(b, 1);
  auto live = table.Live();
  std::sort(live.begin(), live.end());
  EXPECT_EQ(live, (std::vector<std::pair<uint64_t, std::string>>{{InodeTable::kRootInode, "/data"},
                                                                 {a, "/data/a"}}));
  EXPECT_EQ(table.InodeOf("/data"), InodeTable::kRootInode);
  EXPECT_EQ(table.InodeOf("/data/a"), a);
  EXPECT_EQ(table.InodeOf("/data/b"), std::nullopt);
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
