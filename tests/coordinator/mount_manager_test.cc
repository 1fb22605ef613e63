#include "coordinator/mounts/mount_manager.h"

#include <gtest/gtest.h>

#include "testing/scoped_temp_dir.h"

namespace alluvium::coordinator {
namespace {

TEST(MountManagerTest, MountsSurviveARestart) {
  testing::ScopedTempDir dir;
  {
    auto store = KvStore::Open(dir.path() / "store");
    ASSERT_TRUE(store.ok()) << store.status();
    auto manager = MountManager::Open(**store, "file:///srv/root", "/extra=file:///srv/extra");
    ASSERT_TRUE(manager.ok()) << manager.status();
    ASSERT_TRUE((*manager)->Mount({.path = "/data", .ufs_uri = "file:///srv/data"}).ok());
    EXPECT_EQ((*manager)->Snapshot()->mounts().size(), 3u);
  }
  auto store = KvStore::Open(dir.path() / "store");
  ASSERT_TRUE(store.ok()) << store.status();
  // A different root in the config does not replace the persisted one.
  auto manager = MountManager::Open(**store, "file:///elsewhere", "/extra=file:///srv/extra");
  ASSERT_TRUE(manager.ok()) << manager.status();
  auto table = (*manager)->Snapshot();
  EXPECT_EQ(table->mounts().size(), 3u);
  EXPECT_EQ(table->Resolve("/data/x")->ufs_uri, "file:///srv/data/x");
  EXPECT_EQ(table->Resolve("/y")->ufs_uri, "file:///srv/root/y");

  ASSERT_TRUE((*manager)->Unmount("/data").ok());
  EXPECT_EQ((*manager)->Unmount("/data").code(), Code::kNotFound);
}

TEST(MountManagerTest, BadConfiguredMountsAreRejected) {
  testing::ScopedTempDir dir;
  auto store = KvStore::Open(dir.path() / "store");
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(MountManager::Open(**store, "file:///r", "no-equals").status().code(),
            Code::kInvalidArgument);
}

TEST(KvStoreTest, SecondOpenOfTheSameDirFailsClearly) {
  testing::ScopedTempDir dir;
  auto first = KvStore::Open(dir.path() / "store");
  ASSERT_TRUE(first.ok());
  auto second = KvStore::Open(dir.path() / "store");
  EXPECT_FALSE(second.ok());
}

}  // namespace
}  // namespace alluvium::coordinator
