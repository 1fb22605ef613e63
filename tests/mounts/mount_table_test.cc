#include "mounts/mount_table.h"

#include <gtest/gtest.h>

namespace alluvium::mounts {
namespace {

MountTable Table() {
  MountTable t;
  EXPECT_TRUE(t.Add({.path = "/", .ufs_uri = "file:///srv/root"}).ok());
  EXPECT_TRUE(t.Add({.path = "/data", .ufs_uri = "file:///srv/data/"}).ok());
  EXPECT_TRUE(t.Add({.path = "/s3", .ufs_uri = "s3://bucket/prefix"}).ok());
  return t;
}

TEST(MountTableTest, ResolvesThroughTheLongestMount) {
  MountTable t = Table();
  EXPECT_EQ(t.Resolve("/data/a/b.bin")->ufs_uri, "file:///srv/data/a/b.bin");
  EXPECT_EQ(t.Resolve("/data")->ufs_uri, "file:///srv/data");
  EXPECT_EQ(t.Resolve("/database")->ufs_uri, "file:///srv/root/database");
  EXPECT_EQ(t.Resolve("/s3/x/y")->ufs_uri, "s3://bucket/prefix/x/y");
  EXPECT_EQ(t.Resolve("/other")->ufs_uri, "file:///srv/root/other");
}

TEST(MountTableTest, DotDotCannotEscapeAMount) {
  MountTable t = Table();
  // Normalised before lookup: "/data/../x" is "/x", under the root mount, never /srv/x.
  EXPECT_EQ(t.Resolve("/data/../x")->ufs_uri, "file:///srv/root/x");
  EXPECT_EQ(t.Resolve("/data/../../etc/passwd").status().code(), Code::kInvalidArgument);
}

TEST(MountTableTest, ReverseResolvesUfsUris) {
  MountTable t = Table();
  EXPECT_EQ(t.ResolveUfsUri("file:///srv/data/a")->cache_path, "/data/a");
  EXPECT_EQ(t.ResolveUfsUri("s3://bucket/prefix/dir/")->cache_path, "/s3/dir");
  EXPECT_EQ(t.ResolveUfsUri("s3://other/x").status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(t.ResolveAny("/data/a")->ufs_uri, "file:///srv/data/a");
  EXPECT_EQ(t.ResolveAny("file:///srv/root/z")->cache_path, "/z");
}

TEST(MountTableTest, WithoutARootUnmountedPathsAreNotFound) {
  MountTable t;
  ASSERT_TRUE(t.Add({.path = "/data", .ufs_uri = "file:///srv/data"}).ok());
  EXPECT_EQ(t.Resolve("/elsewhere").status().code(), Code::kNotFound);
}

TEST(MountTableTest, RejectsDuplicatesAndBadInput) {
  MountTable t = Table();
  EXPECT_EQ(t.Add({.path = "/data/", .ufs_uri = "file:///x"}).code(), Code::kAlreadyExists);
  EXPECT_EQ(t.Add({.path = "/dup", .ufs_uri = "file:///srv/data"}).code(), Code::kInvalidArgument);
  EXPECT_EQ(t.Add({.path = "relative", .ufs_uri = "file:///y"}).code(), Code::kInvalidArgument);
  EXPECT_EQ(t.Add({.path = "/z", .ufs_uri = "not a uri"}).code(), Code::kInvalidArgument);
  EXPECT_EQ(t.Remove("/nothing").code(), Code::kNotFound);
  EXPECT_EQ(t.Remove("/").code(), Code::kFailedPrecondition);
  EXPECT_TRUE(t.Remove("/data").ok());
  EXPECT_EQ(t.Resolve("/data/a")->ufs_uri, "file:///srv/root/data/a");
}

}  // namespace
}  // namespace alluvium::mounts
