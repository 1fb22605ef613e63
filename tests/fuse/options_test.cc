#include "fuse/options.h"

#include <cerrno>

#include <gtest/gtest.h>

#include "fuse/errno_mapping.h"

namespace alluvium::fuse {
namespace {

TEST(FuseOptionsTest, TimeoutsAndDirectIoAreOursTheRestGoToLibfuse) {
  auto o = FuseOptions::Parse(
      "/data/", {"attr_timeout=2.5,allow_other", "entry_timeout=0", "direct_io", "fsname=x"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->path, "/data");
  EXPECT_EQ(o->attr_timeout, 2.5);
  EXPECT_EQ(o->entry_timeout, 0.0);
  EXPECT_TRUE(o->direct_io);
  EXPECT_EQ(o->fuse_options, (std::vector<std::string>{"allow_other", "fsname=x"}));
}

TEST(FuseOptionsTest, ReadAheadPartsCapTheWindowAndZeroTurnsItOff) {
  EXPECT_EQ(FuseOptions::Parse("/", {})->read_ahead.max_parts, 8u);
  EXPECT_EQ(FuseOptions::Parse("/", {"read_ahead_parts=2"})->read_ahead.max_parts, 2u);
  EXPECT_EQ(FuseOptions::Parse("/", {"read_ahead_parts=0"})->read_ahead.max_parts, 0u);
  for (const char* bad : {"read_ahead_parts=", "read_ahead_parts=-1", "read_ahead_parts=4096",
                          "read_ahead_parts=2x"}) {
    EXPECT_EQ(FuseOptions::Parse("/", {bad}).status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(FuseOptionsTest, ReadAheadKbSetsTheKernelsReadAheadAndZeroLeavesItAlone) {
  EXPECT_EQ(FuseOptions::Parse("/", {})->kernel_read_ahead_kib, 4096u);
  EXPECT_EQ(FuseOptions::Parse("/", {"read_ahead_kb=1024"})->kernel_read_ahead_kib, 1024u);
  EXPECT_EQ(FuseOptions::Parse("/", {"read_ahead_kb=0"})->kernel_read_ahead_kib, 0u);
  for (const char* bad :
       {"read_ahead_kb=", "read_ahead_kb=-1", "read_ahead_kb=2000000", "read_ahead_kb=4M"}) {
    const auto o = FuseOptions::Parse("/", {bad});
    EXPECT_EQ(o.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_NE(o.status().message().find("KiB"), std::string::npos) << o.status();
  }
}

TEST(FuseOptionsTest, PushSmallKbBoundsTheFilesAListingPutsInThePageCache) {
  EXPECT_EQ(FuseOptions::Parse("/", {})->push_small_bytes, 128u << 10);
  EXPECT_EQ(FuseOptions::Parse("/", {"push_small_kb=16"})->push_small_bytes, 16u << 10);
  EXPECT_EQ(FuseOptions::Parse("/", {"push_small_kb=0"})->push_small_bytes, 0u);
  for (const char* bad : {"push_small_kb=", "push_small_kb=2048", "push_small_kb=1.5"}) {
    EXPECT_EQ(FuseOptions::Parse("/", {bad}).status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(FuseOptionsTest, NoOptionsLeaveTheFilterInCharge) {
  auto o = FuseOptions::Parse("/", {});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->attr_timeout, std::nullopt);
  EXPECT_EQ(o->entry_timeout, std::nullopt);
  EXPECT_FALSE(o->direct_io);
  EXPECT_EQ(o->max_read, 1u << 20);
}

TEST(FuseOptionsTest, BadTimeoutsAndPathsAreRefused) {
  for (const char* bad :
       {"attr_timeout=-1", "attr_timeout=abc", "entry_timeout=", "attr_timeout"}) {
    EXPECT_EQ(FuseOptions::Parse("/", {bad}).status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(FuseOptions::Parse("relative", {}).status().code(), Code::kInvalidArgument);
}

TEST(ErrnoMappingTest, CodesTheReaderCanActOnKeepTheirMeaningOthersAreEio) {
  EXPECT_EQ(ErrnoOf(OkStatus()), 0);
  EXPECT_EQ(ErrnoOf(NotFound("x")), ENOENT);
  EXPECT_EQ(ErrnoOf(PermissionDenied("x")), EACCES);
  EXPECT_EQ(ErrnoOf(InvalidArgument("x")), EINVAL);
  EXPECT_EQ(ErrnoOf(Unavailable("x")), EIO);
  EXPECT_EQ(ErrnoOf(DataLoss("x")), EIO);
  EXPECT_EQ(ErrnoOf(FailedPrecondition("x")), EIO);
}

}  // namespace
}  // namespace alluvium::fuse
