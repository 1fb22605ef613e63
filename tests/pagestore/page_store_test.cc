#include "pagestore/page_store.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <latch>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/metrics.h"
#include "common/scoped_fd.h"
#include "pagestore/page_record.h"
#include "testing/eventually.h"
#include "testing/scoped_temp_dir.h"
#include "testing/scoped_tmpfs.h"

namespace alluvium::pagestore {
namespace {

namespace fs = std::filesystem;
using ::alluvium::testing::ScopedTempDir;
using ::alluvium::testing::ScopedTmpfs;
using namespace std::chrono_literals;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kPagesPerRegion = 4;
constexpr uint64_t kRegion = kRegionHeaderSize + kPagesPerRegion * RecordSpan(kPage);

PageKey Key(uint64_t index, std::string_view uri = "s3://bucket/file") {
  return {.file = FileIdOf(uri, "v1"), .index = index};
}

// Deterministic content per key, so any reader can check what it got.
std::vector<std::byte> PageData(const PageKey& key, size_t n) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i] = static_cast<std::byte>((key.file.lo + key.index * 7 + i * 13) & 0xff);
  }
  return v;
}

size_t CountFiles(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

// Overwrites bytes of a file in place, as a failing disk would.
void WriteInPlace(const fs::path& path, uint64_t offset, const std::string& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good()) << path;
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

class PageStoreTest : public ::testing::Test {
 protected:
  PageStoreOptions Options(uint64_t regions = 4) const {
    return {.page_size = kPage,
            .dirs = {dir_.path()},
            .capacity_bytes = regions * kRegion,
            .region_size = kRegion};
  }

  std::unique_ptr<PageStore> OpenStore(const PageStoreOptions& options) {
    auto store = PageStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  void PutPage(PageStore& store, const PageKey& key, size_t n = kPage) {
    const auto data = PageData(key, n);
    const Status st = store.Put(key, data);
    ASSERT_TRUE(st.ok()) << key.index << ": " << st;
  }

  Code ReadCode(PageStore& store, const PageKey& key) {
    std::vector<std::byte> out(kPage);
    return store.Read(key, 0, out).status().code();
  }

  fs::path RegionPath(uint32_t region) const {
    return dir_.path() / "regions" / std::to_string(region);
  }

  ScopedTempDir dir_;
};

TEST_F(PageStoreTest, PutThenReadReturnsTheSameBytes) {
  auto store = OpenStore(Options());
  ASSERT_NE(store, nullptr);
  const PageKey key = Key(0);
  const auto data = PageData(key, kPage);
  ASSERT_TRUE(store->Put(key, data).ok());

  std::vector<std::byte> out(kPage);
  auto n = store->Read(key, 0, out);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, kPage);
  EXPECT_EQ(out, data);
  EXPECT_TRUE(store->Contains(key));
  EXPECT_EQ(*store->PageLength(key), kPage);
}

TEST_F(PageStoreTest, ReadAtOffsetCopiesTheRange) {
  auto store = OpenStore(Options());
  const PageKey key = Key(1);
  const auto data = PageData(key, kPage);
  ASSERT_TRUE(store->Put(key, data).ok());

  std::vector<std::byte> out(100);
  ASSERT_EQ(*store->Read(key, 1000, out), 100u);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), data.begin() + 1000));
}

TEST_F(PageStoreTest, ReadPastTheDataIsShortOrEmpty) {
  auto store = OpenStore(Options());
  const PageKey key = Key(2);
  const auto data = PageData(key, 1000);  // a file's last, partial page
  ASSERT_TRUE(store->Put(key, data).ok());
  EXPECT_EQ(*store->PageLength(key), 1000u);

  std::vector<std::byte> out(kPage);
  ASSERT_EQ(*store->Read(key, 0, out), 1000u);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), out.begin()));
  ASSERT_EQ(*store->Read(key, 900, out), 100u);
  EXPECT_TRUE(std::equal(out.begin(), out.begin() + 100, data.begin() + 900));
  EXPECT_EQ(*store->Read(key, 1000, out), 0u);
  EXPECT_EQ(*store->Read(key, 5000, out), 0u);
}

TEST_F(PageStoreTest, AbsentPageIsNotFound) {
  auto store = OpenStore(Options());
  EXPECT_EQ(ReadCode(*store, Key(9)), Code::kNotFound);
  EXPECT_EQ(store->PageLength(Key(9)).status().code(), Code::kNotFound);
  EXPECT_EQ(store->Locate(Key(9)).status().code(), Code::kNotFound);
  EXPECT_FALSE(store->Contains(Key(9)));
  EXPECT_EQ(store->stats().misses, 1u);
  EXPECT_EQ(store->stats().hits, 0u);
}

TEST_F(PageStoreTest, PutRejectsEmptyAndOversizedPages) {
  auto store = OpenStore(Options());
  std::vector<std::byte> big(kPage + 1);
  EXPECT_EQ(store->Put(Key(0), {}).code(), Code::kInvalidArgument);
  EXPECT_EQ(store->Put(Key(0), big).code(), Code::kInvalidArgument);
  EXPECT_EQ(store->stats().pages, 0u);
}

TEST_F(PageStoreTest, OpenRejectsInvalidOptions) {
  auto options = Options();
  options.page_size = 3000;
  EXPECT_EQ(PageStore::Open(options).status().code(), Code::kInvalidArgument);
  options.page_size = 2048;
  EXPECT_EQ(PageStore::Open(options).status().code(), Code::kInvalidArgument);
  options = Options();
  options.dirs.clear();
  EXPECT_EQ(PageStore::Open(options).status().code(), Code::kInvalidArgument);
  options = Options();
  options.region_size = kPage;  // no room for the headers
  EXPECT_EQ(PageStore::Open(options).status().code(), Code::kInvalidArgument);
}

// A store that cannot hold one region is a configuration error, caught before any Put.
TEST_F(PageStoreTest, CapacitySmallerThanARegionIsRejectedAtOpen) {
  auto options = Options();
  options.capacity_bytes = kRegion - 1;
  auto store = PageStore::Open(options);
  EXPECT_EQ(store.status().code(), Code::kInvalidArgument);
  EXPECT_NE(store.status().message().find("smaller than one region"), std::string::npos);
}

TEST_F(PageStoreTest, AutomaticRegionSizeIsAboutASixtyFourthOfTheCapacityInWholeRecords) {
  constexpr uint64_t kMiB = 1 << 20;
  PageStoreOptions o{.page_size = kMiB, .dirs = {"/x"}, .capacity_bytes = uint64_t{4} << 30};
  // 64 MiB would hold 63 records of a page and their headers: the region holds exactly those.
  EXPECT_EQ(o.EffectiveRegionSize(), kRegionHeaderSize + 63 * RecordSpan(kMiB));
  // 4 GiB is just short of 65 of them (each record has a header and a checksum table).
  EXPECT_EQ(o.RegionCount(), 64u);
  EXPECT_EQ(o.FullPageCapacity(), 64 * 63 * kMiB);
  o.capacity_bytes = uint64_t{1} << 40;  // capped near 64 MiB
  EXPECT_EQ(o.EffectiveRegionSize(), kRegionHeaderSize + 63 * RecordSpan(kMiB));
  // 300 MiB: regions of four pages, and nearly all of the capacity holds pages.
  o.capacity_bytes = 300 * kMiB;
  EXPECT_EQ(o.EffectiveRegionSize(), kRegionHeaderSize + 4 * RecordSpan(kMiB));
  EXPECT_GE(o.FullPageCapacity(), 296 * kMiB);
  o.capacity_bytes = 8 * kMiB;  // at least one page
  EXPECT_EQ(o.EffectiveRegionSize(), o.MinRegionSize());
  EXPECT_TRUE(o.Validate().ok());
}

// Small files are the point of packing: a thousand pages, no file of their own.
TEST_F(PageStoreTest, PagesShareRegionFiles) {
  auto store = OpenStore(Options(/*regions=*/64));
  for (uint64_t i = 0; i < 1000; ++i) PutPage(*store, Key(i), 100);
  EXPECT_EQ(store->stats().pages, 1000u);
  EXPECT_EQ(CountFiles(dir_.path() / "regions"), 64u);
  for (uint64_t i = 0; i < 1000; i += 97) EXPECT_EQ(ReadCode(*store, Key(i)), Code::kOk) << i;
}

TEST_F(PageStoreTest, EvictionDropsTheLeastRecentlyUsedRegionWhole) {
  auto store = OpenStore(Options(/*regions=*/3));
  for (uint64_t i = 0; i < 3 * kPagesPerRegion; ++i) PutPage(*store, Key(i));  // regions A B C
  EXPECT_EQ(store->stats().evictions, 0u);
  EXPECT_EQ(ReadCode(*store, Key(0)), Code::kOk);  // A is now the most recently used

  PutPage(*store, Key(100));  // needs a region: B, the least recently used, goes whole
  for (uint64_t i = 0; i < kPagesPerRegion; ++i) EXPECT_TRUE(store->Contains(Key(i))) << i;
  for (uint64_t i = kPagesPerRegion; i < 2 * kPagesPerRegion; ++i) {
    EXPECT_EQ(ReadCode(*store, Key(i)), Code::kNotFound) << i;
  }
  for (uint64_t i = 2 * kPagesPerRegion; i < 3 * kPagesPerRegion; ++i) {
    EXPECT_TRUE(store->Contains(Key(i))) << i;
  }
  EXPECT_EQ(ReadCode(*store, Key(100)), Code::kOk);

  const PageStoreStats s = store->stats();
  EXPECT_EQ(s.evictions, kPagesPerRegion);
  EXPECT_EQ(s.pages, 2 * kPagesPerRegion + 1);
  EXPECT_EQ(s.used_bytes, (2 * kPagesPerRegion + 1) * kPage);
  EXPECT_EQ(s.puts, 3 * kPagesPerRegion + 1);
  EXPECT_LE(s.used_bytes, s.capacity_bytes);
}

TEST_F(PageStoreTest, PinnedPagesAreNeverEvictedAndTheirOwnOverflowIsAFailedPrecondition) {
  auto store = OpenStore(Options(/*regions=*/3));
  constexpr PinGroup kJob = 7;
  for (uint64_t i = 0; i < 3 * kPagesPerRegion; ++i) {
    ASSERT_TRUE(store->Put(Key(i), PageData(Key(i), kPage), kJob).ok()) << i;
  }
  EXPECT_EQ(store->PinnedBytes(kJob), 3 * kPagesPerRegion * kPage);

  // One page more than the store holds: the load's own pages stay, the new page is refused.
  const Status st = store->Put(Key(100), PageData(Key(100), kPage), kJob);
  EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st;
  EXPECT_NE(st.message().find("this load's own pages"), std::string::npos) << st;
  // Anyone else's page is refused too, but as "retry later": the pins end with the load.
  EXPECT_EQ(store->Put(Key(101), PageData(Key(101), kPage)).code(), Code::kResourceExhausted);
  for (uint64_t i = 0; i < 3 * kPagesPerRegion; ++i) EXPECT_EQ(ReadCode(*store, Key(i)), Code::kOk);
  EXPECT_EQ(store->stats().evictions, 0u);

  store->Unpin(kJob);  // the load ended: its pages are ordinary cached pages again
  EXPECT_EQ(store->PinnedBytes(kJob), 0u);
  PutPage(*store, Key(100));
  EXPECT_EQ(store->stats().evictions, kPagesPerRegion);
}

TEST_F(PageStoreTest, PagesPinnedByAnotherGroupAreResourceExhaustedUntilItEnds) {
  auto store = OpenStore(Options(/*regions=*/3));
  constexpr PinGroup kFirst = 1, kSecond = 2;
  for (uint64_t i = 0; i < 2 * kPagesPerRegion; ++i) {
    ASSERT_TRUE(store->Put(Key(i), PageData(Key(i), kPage), kFirst).ok());
  }
  for (uint64_t i = 2 * kPagesPerRegion; i < 3 * kPagesPerRegion; ++i) {
    ASSERT_TRUE(store->Put(Key(i), PageData(Key(i), kPage), kSecond).ok());
  }
  // The second load's page needs a region; only the first load's regions could be freed.
  EXPECT_EQ(store->Put(Key(100), PageData(Key(100), kPage), kSecond).code(),
            Code::kResourceExhausted);
  store->Unpin(kFirst);
  ASSERT_TRUE(store->Put(Key(100), PageData(Key(100), kPage), kSecond).ok());
  for (uint64_t i = 2 * kPagesPerRegion; i < 3 * kPagesPerRegion; ++i) {
    EXPECT_TRUE(store->Contains(Key(i))) << i;
  }
}

TEST_F(PageStoreTest, PinningAPageAlreadyCachedKeepsItsRegion) {
  auto store = OpenStore(Options(/*regions=*/2));
  for (uint64_t i = 0; i < 2 * kPagesPerRegion; ++i) PutPage(*store, Key(i));  // regions A B
  constexpr PinGroup kJob = 3;
  EXPECT_TRUE(store->Pin(Key(0), kJob));  // A is pinned (and the most recently used)
  EXPECT_FALSE(store->Pin(Key(999), kJob));
  EXPECT_EQ(store->PinnedBytes(kJob), kPage);
  PutPage(*store, Key(100));  // evicts B, the only region without a pin
  for (uint64_t i = 0; i < kPagesPerRegion; ++i) EXPECT_TRUE(store->Contains(Key(i))) << i;
  EXPECT_FALSE(store->Contains(Key(kPagesPerRegion)));
  EXPECT_EQ(store->stats().pinned_bytes, kPage);
}

TEST_F(PageStoreTest, PutOfExistingKeyReplacesIt) {
  auto store = OpenStore(Options());
  const PageKey key = Key(0);
  ASSERT_TRUE(store->Put(key, PageData(Key(100), 100)).ok());
  const auto data = PageData(key, 300);
  ASSERT_TRUE(store->Put(key, data).ok());
  EXPECT_EQ(store->stats().pages, 1u);
  EXPECT_EQ(store->stats().used_bytes, 300u);
  std::vector<std::byte> out(300);
  ASSERT_EQ(*store->Read(key, 0, out), 300u);
  EXPECT_EQ(out, data);

  store.reset();  // the newer record wins at re-index too
  store = OpenStore(Options());
  ASSERT_EQ(*store->Read(key, 0, out), 300u);
  EXPECT_EQ(out, data);
}

TEST_F(PageStoreTest, CorruptPageIsDataLossThenNotFound) {
  auto store = OpenStore(Options());
  const PageKey key = Key(5);
  PutPage(*store, Key(4));
  PutPage(*store, key);
  auto extent = store->Locate(key);
  ASSERT_TRUE(extent.ok()) << extent.status();
  WriteInPlace(RegionPath(extent->region), extent->offset + 123, "\xff\x00\x11");

  EXPECT_EQ(ReadCode(*store, key), Code::kDataLoss);
  EXPECT_EQ(store->stats().checksum_failures, 1u);
  EXPECT_FALSE(store->Contains(key));
  EXPECT_EQ(ReadCode(*store, key), Code::kNotFound);
  EXPECT_EQ(ReadCode(*store, Key(4)), Code::kOk) << "its neighbour is intact";
  EXPECT_EQ(store->stats().used_bytes, kPage);
}

TEST_F(PageStoreTest, TruncatedRegionFileIsDetected) {
  auto store = OpenStore(Options());
  PutPage(*store, Key(0));
  PutPage(*store, Key(1));
  fs::resize_file(RegionPath(store->Locate(Key(1))->region), kRegionHeaderSize + kPage);
  EXPECT_EQ(ReadCode(*store, Key(1)), Code::kDataLoss);
  EXPECT_EQ(ReadCode(*store, Key(1)), Code::kNotFound);
  EXPECT_EQ(ReadCode(*store, Key(0)), Code::kDataLoss) << "its data is cut too";
}

TEST_F(PageStoreTest, RegionFileRemovedBehindOurBackIsServedUntilRestart) {
  auto store = OpenStore(Options());
  const PageKey key = Key(7);
  PutPage(*store, key);
  fs::remove(RegionPath(store->Locate(key)->region));
  EXPECT_EQ(ReadCode(*store, key), Code::kOk) << "the open descriptor still reads the bytes";
  store.reset();
  store = OpenStore(Options());
  EXPECT_EQ(ReadCode(*store, key), Code::kNotFound);
  EXPECT_EQ(CountFiles(dir_.path() / "regions"), 4u);
}

TEST_F(PageStoreTest, DeleteRemovesPageAndIsIdempotent) {
  auto store = OpenStore(Options());
  const PageKey key = Key(8);
  PutPage(*store, key);
  EXPECT_TRUE(store->Delete(key).ok());
  EXPECT_EQ(ReadCode(*store, key), Code::kNotFound);
  EXPECT_TRUE(store->Delete(key).ok());
  EXPECT_EQ(store->stats().pages, 0u);
  EXPECT_EQ(store->stats().evictions, 0u);
}

TEST_F(PageStoreTest, ReopenReindexesPages) {
  {
    auto store = OpenStore(Options());
    for (uint64_t i = 0; i < 5; ++i) PutPage(*store, Key(i));
    PutPage(*store, Key(0, "s3://bucket/other"), 10);
  }
  auto store = OpenStore(Options());
  ASSERT_NE(store, nullptr);
  const PageStoreStats s = store->stats();
  EXPECT_EQ(s.pages, 6u);
  EXPECT_EQ(s.used_bytes, 5 * kPage + 10);
  EXPECT_EQ(*store->PageLength(Key(0, "s3://bucket/other")), 10u);
  for (uint64_t i = 0; i < 5; ++i) {
    std::vector<std::byte> out(kPage);
    ASSERT_EQ(*store->Read(Key(i), 0, out), kPage);
    EXPECT_EQ(out, PageData(Key(i), kPage));
  }
  // Reopened regions take no appends (see RegionIndex::RestoreRegion); new pages still fit.
  for (uint64_t i = 10; i < 14; ++i) PutPage(*store, Key(i));
  EXPECT_EQ(store->stats().pages, 10u);
}

// What a crash leaves: a record whose header was never written (the data is written first), a
// damaged header, stray files. Re-indexing keeps what precedes them in each region.
TEST_F(PageStoreTest, ReopenStopsAtATornOrDamagedRecordAndDropsStrayFiles) {
  uint32_t region = 0;
  uint64_t third = 0;
  {
    auto store = OpenStore(Options());
    for (uint64_t i = 0; i < 4; ++i) PutPage(*store, Key(i));
    region = store->Locate(Key(0))->region;
    ASSERT_EQ(store->Locate(Key(3))->region, region);
    third = store->Locate(Key(2))->offset - kRecordHeaderSize;
  }
  WriteInPlace(RegionPath(region), third, std::string(kRecordHeaderSize, '\0'));  // torn
  std::ofstream(dir_.path() / "regions" / "junk") << "junk";
  fs::create_directory(dir_.path() / "regions" / "17x");

  auto store = OpenStore(Options());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->stats().pages, 2u);
  EXPECT_EQ(ReadCode(*store, Key(0)), Code::kOk);
  EXPECT_EQ(ReadCode(*store, Key(1)), Code::kOk);
  EXPECT_FALSE(store->Contains(Key(2)));
  EXPECT_FALSE(store->Contains(Key(3))) << "nothing after the torn record is trusted";
  EXPECT_FALSE(fs::exists(dir_.path() / "regions" / "junk"));
  EXPECT_FALSE(fs::exists(dir_.path() / "regions" / "17x"));
  EXPECT_EQ(store->stats().checksum_failures, 0u);
}

// The crash test: a process writing pages from several threads is SIGKILLed at a random moment.
// Reopened, the store holds only whole pages: every one it indexes reads back exactly, and no
// checksum fails. Several rounds, each killing at another point.
TEST_F(PageStoreTest, KilledWhileWritingLeavesOnlyWholePages) {
  const PageStoreOptions options = Options(/*regions=*/24);
  constexpr int kRounds = 5;
  uint64_t survived = 0;
  for (int round = 0; round < kRounds; ++round) {
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    ScopedFd progress_in(pipe_fds[0]), progress_out(pipe_fds[1]);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto store = PageStore::Open(options);
      if (!store.ok()) ::_exit(2);
      std::vector<std::jthread> writers;
      for (int t = 0; t < 4; ++t) {
        writers.emplace_back([&, t] {
          for (uint64_t i = 0;; ++i) {
            const PageKey key = Key((round * 4 + t) * 1000000 + i);
            (void)(*store)->Put(key, PageData(key, 1 + (i * 997) % kPage));
            if (t == 0 && i % 500 == 499) (void)!::write(progress_out.get(), "x", 1);
          }
        });
      }
      for (;;) ::pause();
    }
    // Kill once the child has written a while: a little more each round, so that each kill
    // lands at another point of the regions' fill and reuse. The child says how far it got.
    progress_out.Reset();
    char tick = 0;
    for (int ticks = 0; ticks <= round; ++ticks) {
      ASSERT_EQ(::read(progress_in.get(), &tick, 1), 1) << "the writer died";
    }
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "the writer exited on its own: " << wstatus;

    auto store = OpenStore(options);
    ASSERT_NE(store, nullptr);
    const uint64_t pages = store->stats().pages;
    uint64_t checked = 0;
    for (int r = 0; r <= round; ++r) {
      for (int t = 0; t < 4; ++t) {
        for (uint64_t i = 0; i < 200000 && checked < pages; ++i) {
          const PageKey key = Key((r * 4 + t) * 1000000 + i);
          auto length = store->PageLength(key);
          if (!length.ok()) continue;
          std::vector<std::byte> out(kPage);
          auto n = store->Read(key, 0, out);
          ASSERT_TRUE(n.ok()) << "round " << round << " key " << key.index << ": " << n.status();
          ASSERT_EQ(*n, 1 + (i * 997) % kPage);
          out.resize(*n);
          ASSERT_EQ(out, PageData(key, *n)) << "round " << round << " key " << key.index;
          ++checked;
        }
      }
    }
    EXPECT_EQ(checked, pages) << "every indexed page is one the writers wrote";
    EXPECT_EQ(store->stats().checksum_failures, 0u);
    survived += pages;
  }
  EXPECT_GT(survived, 0u);
  std::printf("crash test: %d kills, %llu whole pages re-indexed and verified\n", kRounds,
              static_cast<unsigned long long>(survived));
}

TEST_F(PageStoreTest, ReopenWithSmallerCapacityKeepsTheNewestRegions) {
  {
    auto store = OpenStore(Options(/*regions=*/4));
    for (uint64_t i = 0; i < 4 * kPagesPerRegion; ++i) PutPage(*store, Key(i));
  }
  auto store = OpenStore(Options(/*regions=*/2));
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->stats().pages, 2 * kPagesPerRegion);
  for (uint64_t i = 0; i < 2 * kPagesPerRegion; ++i) EXPECT_FALSE(store->Contains(Key(i))) << i;
  for (uint64_t i = 2 * kPagesPerRegion; i < 4 * kPagesPerRegion; ++i) {
    EXPECT_EQ(ReadCode(*store, Key(i)), Code::kOk) << i;
  }
  EXPECT_EQ(CountFiles(dir_.path() / "regions"), 2u);
}

TEST_F(PageStoreTest, PageOrRegionSizeChangeAndTheOldLayoutWipe) {
  {
    auto store = OpenStore(Options());
    for (uint64_t i = 0; i < 3; ++i) PutPage(*store, Key(i));
  }
  auto options = Options();
  options.region_size = 2 * kRegion;
  {
    auto store = OpenStore(options);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->stats().pages, 0u);
    PutPage(*store, Key(7));
  }
  {
    auto store = OpenStore(options);  // same sizes again: pages kept
    EXPECT_EQ(store->stats().pages, 1u);
  }
  // A dir of the one-file-per-page layout (format 1).
  fs::create_directories(dir_.path() / "pages" / "00");
  std::ofstream(dir_.path() / "pages" / "00" / "old_0") << "old page";
  std::ofstream(dir_.path() / "store.meta") << "alluvium page store\nformat 1\npage_size 4096\n"
                                               "dir_id 00000000000000aa\n";
  auto store = OpenStore(options);
  EXPECT_EQ(store->stats().pages, 0u);
  EXPECT_FALSE(fs::exists(dir_.path() / "pages"));
}

TEST_F(PageStoreTest, MissingMetaWithPagesWipes) {
  {
    auto store = OpenStore(Options());
    PutPage(*store, Key(0));
  }
  fs::remove(dir_.path() / "store.meta");
  auto store = OpenStore(Options());
  EXPECT_EQ(store->stats().pages, 0u);
}

TEST_F(PageStoreTest, SecondStoreOnSameDirIsRefused) {
  auto store = OpenStore(Options());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(PageStore::Open(Options()).status().code(), Code::kFailedPrecondition);
}

TEST_F(PageStoreTest, PagesSpreadOverDirsAndSurviveReorderingThem) {
  ScopedTempDir other;
  PageStoreOptions options = Options(/*regions=*/40);
  options.dirs = {dir_.path(), other.path()};
  uint64_t in_first = 0;
  {
    auto store = OpenStore(options);
    for (uint64_t i = 0; i < 64; ++i) PutPage(*store, Key(i), 100);
    for (uint64_t i = 0; i < 64; ++i) in_first += store->Locate(Key(i))->region < 20 ? 1 : 0;
  }
  EXPECT_GT(in_first, 0u);
  EXPECT_LT(in_first, 64u);
  EXPECT_EQ(CountFiles(dir_.path() / "regions"), 20u);
  EXPECT_EQ(CountFiles(other.path() / "regions"), 20u);

  options.dirs = {other.path(), dir_.path()};
  auto store = OpenStore(options);
  EXPECT_EQ(store->stats().pages, 64u);
  for (uint64_t i = 0; i < 64; ++i) EXPECT_EQ(ReadCode(*store, Key(i)), Code::kOk);
}

TEST_F(PageStoreTest, UpdatesProcessMetrics) {
  const int64_t hits = metrics::ValueOf("alluvium_worker_page_store_hits_total");
  const int64_t misses = metrics::ValueOf("alluvium_worker_page_store_misses_total");
  auto store = OpenStore(Options());
  const int64_t pages = metrics::ValueOf("alluvium_worker_page_store_pages");
  PutPage(*store, Key(0));
  EXPECT_EQ(ReadCode(*store, Key(0)), Code::kOk);
  EXPECT_EQ(ReadCode(*store, Key(1)), Code::kNotFound);
  EXPECT_EQ(metrics::ValueOf("alluvium_worker_page_store_hits_total"),
            std::max<int64_t>(hits, 0) + 1);
  EXPECT_EQ(metrics::ValueOf("alluvium_worker_page_store_misses_total"),
            std::max<int64_t>(misses, 0) + 1);
  EXPECT_EQ(metrics::ValueOf("alluvium_worker_page_store_pages"), pages + 1);
  store.reset();
  EXPECT_EQ(metrics::ValueOf("alluvium_worker_page_store_pages"), pages);
}

// Many threads put, read and delete a small key space in a store that holds a quarter of it, so
// evictions race with reads and puts of the same keys. Every successful read must return the
// key's bytes; the accounting must end consistent.
TEST_F(PageStoreTest, ConcurrentPutsReadsAndEvictionsStayConsistent) {
  constexpr int kThreads = 4;
  constexpr int kOpsPerThread = 1500;
  constexpr uint64_t kKeys = 32;
  auto store = OpenStore(Options(/*regions=*/3));
  ASSERT_NE(store, nullptr);

  std::atomic<int> bad_reads{0}, unexpected{0}, hits{0};
  std::latch start(kThreads);
  std::vector<std::jthread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      std::vector<std::byte> out(kPage);
      start.arrive_and_wait();
      for (int op = 0; op < kOpsPerThread; ++op) {
        const PageKey key = Key(rng() % kKeys);
        const size_t length = 1 + key.index * 100;  // fixed per key: pages are immutable
        switch (rng() % 8) {
          case 0:
            if (!store->Delete(key).ok()) ++unexpected;
            break;
          case 1:
          case 2:
          case 3: {
            const Status s = store->Put(key, PageData(key, length));
            // kResourceExhausted is allowed: every region may be being written.
            if (!s.ok() && s.code() != Code::kResourceExhausted) ++unexpected;
            break;
          }
          default: {
            auto n = store->Read(key, 0, out);
            if (n.ok()) {
              ++hits;
              const auto want = PageData(key, length);
              if (*n != length || !std::equal(want.begin(), want.end(), out.begin())) ++bad_reads;
            } else if (n.status().code() != Code::kNotFound) {
              ++unexpected;
            }
          }
        }
      }
    });
  }
  threads.clear();  // joins

  EXPECT_EQ(bad_reads.load(), 0);
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_GT(hits.load(), 0);
  const PageStoreStats s = store->stats();
  EXPECT_LE(s.used_bytes, s.capacity_bytes);
  EXPECT_EQ(s.checksum_failures, 0u);
  for (uint64_t i = 0; i < kKeys; ++i) {
    const Code code = ReadCode(*store, Key(i));
    EXPECT_TRUE(code == Code::kOk || code == Code::kNotFound) << i;
  }
}

// The eviction-under-readers test for short-circuit reads: readers Locate pages and pread them
// from the region descriptor themselves while writers keep evicting and reusing those regions.
// A reader must accept bytes only when they match the checksum of the extent; then they must be
// the key's bytes, never another page's.
TEST_F(PageStoreTest, ReadersOfExtentsNeverAcceptBytesOfAnEvictedPage) {
  constexpr uint64_t kKeys = 64;
  auto store = OpenStore(Options(/*regions=*/3));
  ASSERT_NE(store, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> accepted{0}, rejected{0}, wrong{0};
  std::vector<std::jthread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(100 + t);
      while (!stop.load()) {
        const PageKey key = Key(rng() % kKeys);
        (void)store->Put(key, PageData(key, kPage - key.index));
      }
    });
  }
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      std::vector<std::byte> buf(kPage);
      while (!stop.load()) {
        const PageKey key = Key(rng() % kKeys);
        auto extent = store->Locate(key);
        if (!extent.ok()) continue;
        std::this_thread::yield();  // widen the window in which the region may be reused
        if (!ReadPageRange(*extent, 0, extent->length, buf.data()).ok()) {
          ++rejected;
          continue;
        }
        ++accepted;
        const auto want = PageData(key, kPage - key.index);
        if (extent->length != want.size() || !std::equal(want.begin(), want.end(), buf.begin())) {
          ++wrong;
        }
      }
    });
  }
  EXPECT_TRUE(::alluvium::testing::Eventually(
      [&] { return store->stats().evictions > 2000 && accepted.load() > 2000; }, 60s));
  stop = true;
  threads.clear();
  EXPECT_EQ(wrong.load(), 0u);
  std::printf("extent readers: %llu accepted, %llu rejected (evicted under them), %llu evictions\n",
              static_cast<unsigned long long>(accepted.load()),
              static_cast<unsigned long long>(rejected.load()),
              static_cast<unsigned long long>(store->stats().evictions));
}

// The store believes it has 4 MiB; the disk holds 1 MiB, so writes meet ENOSPC.
class PageStoreFullDiskTest : public PageStoreTest {
 protected:
  void SetUp() override {
    if (!disk_.mounted()) GTEST_SKIP() << disk_.skip_reason();
    store_ = OpenStore({.page_size = kPage,
                        .dirs = {disk_.path() / "store"},
                        .capacity_bytes = 4 << 20,
                        .region_size = 128 << 10});
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override { store_.reset(); }

  ScopedTmpfs disk_{1 << 20};
  std::unique_ptr<PageStore> store_;
};

TEST_F(PageStoreFullDiskTest, FullDiskEvictsOlderRegionsToMakeRoom) {
  constexpr uint64_t kPages = 600;  // about 2.4 MiB of pages on a 1 MiB disk
  for (uint64_t i = 0; i < kPages; ++i) {
    const Status s = store_->Put(Key(i), PageData(Key(i), kPage));
    ASSERT_TRUE(s.ok()) << i << ": " << s;
  }
  const PageStoreStats stats = store_->stats();
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_LT(stats.pages, kPages);
  std::vector<std::byte> out(kPage);
  for (uint64_t i = 0; i < kPages; ++i) {
    auto n = store_->Read(Key(i), 0, out);
    if (!n.ok()) {
      ASSERT_EQ(n.status().code(), Code::kNotFound) << i;
      continue;
    }
    EXPECT_EQ(out, PageData(Key(i), kPage)) << i;
  }
  EXPECT_TRUE(store_->Contains(Key(kPages - 1)));
}

TEST_F(PageStoreFullDiskTest, ConcurrentWritersOnAFullDiskAllGetRoom) {
  // Each writer's eviction frees room that another may take first: Put must keep evicting
  // rather than fail after one round.
  constexpr int kThreads = 8;
  constexpr uint64_t kPerThread = 150;
  std::atomic<int> failed{0};
  std::latch start(kThreads);
  std::vector<std::jthread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (uint64_t i = 0; i < kPerThread; ++i) {
        const PageKey key = Key(t * kPerThread + i);
        const Status s = store_->Put(key, PageData(key, kPage));
        if (!s.ok()) {
          ++failed;
          ADD_FAILURE() << s;
        }
      }
    });
  }
  threads.clear();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(store_->stats().checksum_failures, 0u);
}

TEST_F(PageStoreFullDiskTest, DiskFullOfOtherDataIsResourceExhaustedAndRecoversOnceFreed) {
  disk_.Fill();
  const Status s = store_->Put(Key(0), PageData(Key(0), kPage));
  EXPECT_EQ(s.code(), Code::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("is full"), std::string::npos) << s;
  EXPECT_NE(s.message().find("No space left on device"), std::string::npos) << s;
  EXPECT_FALSE(store_->Contains(Key(0)));
  EXPECT_EQ(store_->stats().pages, 0u);
  EXPECT_EQ(ReadCode(*store_, Key(0)), Code::kNotFound);

  disk_.Unfill();  // room again: the store was never broken
  ASSERT_TRUE(store_->Put(Key(0), PageData(Key(0), kPage)).ok());
  EXPECT_EQ(ReadCode(*store_, Key(0)), Code::kOk);
}

// Another program fills the disk while two regions hold pages: the store gives the blocks of its
// least recently used region back to the disk and rewrites the other one in place.
TEST_F(PageStoreFullDiskTest, DiskFilledByOthersAfterPagesWereWrittenEvictsThem) {
  for (uint64_t i = 0; i < 40; ++i) ASSERT_TRUE(store_->Put(Key(i), PageData(Key(i), kPage)).ok());
  ASSERT_EQ(store_->stats().regions_in_use, 2u);
  disk_.Fill();
  const uint64_t free_before = disk_.FreeBytes();
  const Status s = store_->Put(Key(100), PageData(Key(100), kPage));
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_GT(store_->stats().evictions, 0u);
  EXPECT_EQ(ReadCode(*store_, Key(0)), Code::kNotFound) << "the oldest region made room";
  EXPECT_EQ(ReadCode(*store_, Key(100)), Code::kOk);
  EXPECT_GT(disk_.FreeBytes(), free_before) << "a region's blocks went back to the disk";
}

// Growing the store stops while the disk still has about a region's worth free for its other
// users (the last region started may take up to one region of the two it saw free).
TEST_F(PageStoreFullDiskTest, LeavesHeadroomOnTheDisk) {
  for (uint64_t i = 0; i < 600; ++i) ASSERT_TRUE(store_->Put(Key(i), PageData(Key(i), kPage)).ok());
  EXPECT_GE(disk_.FreeBytes(), store_->stats().region_size / 2);
  EXPECT_GT(store_->stats().evictions, 0u);
}

}  // namespace
}  // namespace alluvium::pagestore
