#include "worker/load_pins.h"

#include <gtest/gtest.h>

#include "pagestore/page_key.h"
#include "pagestore/page_store.h"
#include "testing/scoped_temp_dir.h"

namespace alluvium::worker {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kPage = 4096;

class LoadPinsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = pagestore::PageStore::Open(
        {.page_size = kPage, .dirs = {dir_.path()}, .capacity_bytes = 256 * kPage});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  // Caches one page pinned by `group`.
  void PutPinned(uint64_t index, pagestore::PinGroup group) {
    const std::vector<std::byte> data(kPage, std::byte{7});
    ASSERT_TRUE(store_->Put({pagestore::FileIdOf("file:///f", "v"), index}, data, group).ok());
  }

  std::chrono::steady_clock::time_point now_{};
  alluvium::testing::ScopedTempDir dir_;
  std::unique_ptr<pagestore::PageStore> store_;
};

TEST_F(LoadPinsTest, EachJobHasItsOwnGroupUntilReleased) {
  LoadPins pins(*store_, 1h, [this] { return now_; });
  const pagestore::PinGroup a = pins.For("a");
  const pagestore::PinGroup b = pins.For("b");
  EXPECT_NE(a, pagestore::kNoPin);
  EXPECT_NE(a, b);
  EXPECT_EQ(pins.For("a"), a);
  PutPinned(0, a);
  PutPinned(1, a);
  EXPECT_TRUE(pins.Live(a));

  EXPECT_EQ(pins.Release("a"), 2 * kPage);
  EXPECT_FALSE(pins.Live(a));
  EXPECT_EQ(store_->PinnedBytes(a), 0u);
  EXPECT_EQ(pins.Release("a"), 0u);
  EXPECT_NE(pins.For("a"), a);  // a job resubmitted under the same id starts a new group
}

TEST_F(LoadPinsTest, AJobSilentForTheIdleTimeoutLosesItsPins) {
  LoadPins pins(*store_, 10min, [this] { return now_; });
  const pagestore::PinGroup silent = pins.For("silent");
  PutPinned(0, silent);
  now_ += 9min;
  const pagestore::PinGroup busy = pins.For("busy");
  EXPECT_TRUE(pins.Live(silent));
  now_ += 2min;  // 11 minutes since "silent" last asked
  EXPECT_EQ(pins.For("busy"), busy);
  EXPECT_FALSE(pins.Live(silent));
  EXPECT_EQ(store_->PinnedBytes(silent), 0u);
  EXPECT_TRUE(pins.Live(busy));
}

}  // namespace
}  // namespace alluvium::worker
