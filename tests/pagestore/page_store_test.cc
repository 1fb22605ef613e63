#include "pagestore/page_store.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <latch>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/metrics.h"
#include "testing/scoped_temp_dir.h"
#include "testing/scoped_tmpfs.h"

namespace alluvium::pagestore {
namespace {

namespace fs = std::filesystem;
using ::alluvium::testing::ScopedTempDir;
using ::alluvium::testing::ScopedTmpfs;

constexpr uint64_t kPage = 4096;

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

fs::path PageFilePath(const fs::path& dir, const PageKey& key) {
  return dir / "pages" / fmt::format("{:02x}", key.file.hi >> 56) / fmt::format("{}", key);
}

size_t CountFiles(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

void SetMtime(const fs::path& path, time_t seconds) {
  const struct timespec times[2] = {{.tv_sec = seconds, .tv_nsec = 0},
                                    {.tv_sec = seconds, .tv_nsec = 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
}

class PageStoreTest : public ::testing::Test {
 protected:
  PageStoreOptions Options(uint64_t capacity_pages = 16) const {
    return {.page_size = kPage, .dirs = {dir_.path()}, .capacity_bytes = capacity_pages * kPage};
  }

  std::unique_ptr<PageStore> OpenStore(const PageStoreOptions& options) {
    auto store = PageStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  void PutPage(PageStore& store, const PageKey& key, size_t n = kPage) {
    const auto data = PageData(key, n);
    ASSERT_TRUE(store.Put(key, data).ok()) << key.index;
  }

  Code ReadCode(PageStore& store, const PageKey& key) {
    std::vector<std::byte> out(kPage);
    return store.Read(key, 0, out).status().code();
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
}

// A store that cannot hold one page is a configuration error, caught before any Put.
TEST_F(PageStoreTest, CapacitySmallerThanAPageIsRejectedAtOpen) {
  auto options = Options();
  options.capacity_bytes = kPage - 1;
  EXPECT_EQ(PageStore::Open(options).status().code(), Code::kInvalidArgument);
}

TEST_F(PageStoreTest, PutEvictsLeastRecentlyUsedPage) {
  auto store = OpenStore(Options(/*capacity_pages=*/3));
  for (uint64_t i = 0; i < 3; ++i) PutPage(*store, Key(i));
  std::vector<std::byte> out(kPage);
  ASSERT_TRUE(store->Read(Key(0), 0, out).ok());  // protects page 0

  PutPage(*store, Key(3));
  EXPECT_EQ(ReadCode(*store, Key(1)), Code::kNotFound);
  EXPECT_EQ(ReadCode(*store, Key(0)), Code::kOk);
  EXPECT_EQ(ReadCode(*store, Key(2)), Code::kOk);
  EXPECT_EQ(ReadCode(*store, Key(3)), Code::kOk);
  EXPECT_FALSE(fs::exists(PageFilePath(dir_.path(), Key(1))));

  // Recency is now 0, 2, 3 (oldest first).
  PutPage(*store, Key(4));
  EXPECT_FALSE(store->Contains(Key(0)));
  EXPECT_TRUE(store->Contains(Key(2)));

  const PageStoreStats s = store->stats();
  EXPECT_EQ(s.pages, 3u);
  EXPECT_EQ(s.used_bytes, 3 * kPage);
  EXPECT_EQ(s.evictions, 2u);
  EXPECT_EQ(s.puts, 5u);
}

TEST_F(PageStoreTest, SmallPagesCountTheirOwnLength) {
  auto store = OpenStore(Options(/*capacity_pages=*/1));
  for (uint64_t i = 0; i < 4; ++i) PutPage(*store, Key(i), kPage / 4);
  EXPECT_EQ(store->stats().pages, 4u);
  EXPECT_EQ(store->stats().evictions, 0u);
  PutPage(*store, Key(4), 1);
  EXPECT_EQ(store->stats().evictions, 1u);
  EXPECT_FALSE(store->Contains(Key(0)));
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
}

TEST_F(PageStoreTest, CorruptPageIsDataLossThenNotFound) {
  auto store = OpenStore(Options());
  const PageKey key = Key(5);
  PutPage(*store, key);
  {
    std::fstream f(PageFilePath(dir_.path(), key), std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good());
    f.seekg(123);
    const char c = static_cast<char>(f.get());
    f.seekp(123);
    f.put(static_cast<char>(c ^ 0x01));
  }
  EXPECT_EQ(ReadCode(*store, key), Code::kDataLoss);
  EXPECT_EQ(store->stats().checksum_failures, 1u);
  EXPECT_FALSE(store->Contains(key));
  EXPECT_FALSE(fs::exists(PageFilePath(dir_.path(), key)));
  EXPECT_EQ(ReadCode(*store, key), Code::kNotFound);
  EXPECT_EQ(store->stats().used_bytes, 0u);
}

TEST_F(PageStoreTest, TruncatedPageIsDetected) {
  auto store = OpenStore(Options());
  const PageKey key = Key(6);
  PutPage(*store, key);
  fs::resize_file(PageFilePath(dir_.path(), key), kPage / 2);
  EXPECT_EQ(ReadCode(*store, key), Code::kDataLoss);
  EXPECT_EQ(ReadCode(*store, key), Code::kNotFound);
}

TEST_F(PageStoreTest, PageFileRemovedBehindOurBackIsAMiss) {
  auto store = OpenStore(Options());
  const PageKey key = Key(7);
  PutPage(*store, key);
  fs::remove(PageFilePath(dir_.path(), key));
  EXPECT_EQ(ReadCode(*store, key), Code::kNotFound);
  EXPECT_FALSE(store->Contains(key));
  EXPECT_EQ(store->stats().used_bytes, 0u);
}

TEST_F(PageStoreTest, DeleteRemovesPageAndIsIdempotent) {
  auto store = OpenStore(Options());
  const PageKey key = Key(8);
  PutPage(*store, key);
  EXPECT_TRUE(store->Delete(key).ok());
  EXPECT_FALSE(fs::exists(PageFilePath(dir_.path(), key)));
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
}

TEST_F(PageStoreTest, ReopenDropsTempFilesAndDamagedPages) {
  {
    auto store = OpenStore(Options());
    for (uint64_t i = 0; i < 4; ++i) PutPage(*store, Key(i));
  }
  std::ofstream(dir_.path() / "tmp" / "leftover.tmp") << "half a page";
  fs::resize_file(PageFilePath(dir_.path(), Key(1)), 10);           // shorter than a footer
  fs::resize_file(PageFilePath(dir_.path(), Key(2)), kPage + 100);  // footer no longer at end
  std::ofstream(dir_.path() / "pages" / "00" / "not-a-page") << "junk";

  auto store = OpenStore(Options());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->stats().pages, 2u);
  EXPECT_TRUE(store->Contains(Key(0)));
  EXPECT_FALSE(store->Contains(Key(1)));
  EXPECT_FALSE(store->Contains(Key(2)));
  EXPECT_TRUE(store->Contains(Key(3)));
  EXPECT_TRUE(fs::is_empty(dir_.path() / "tmp"));
  EXPECT_FALSE(fs::exists(dir_.path() / "pages" / "00" / "not-a-page"));
  EXPECT_FALSE(fs::exists(PageFilePath(dir_.path(), Key(1))));
  EXPECT_EQ(CountFiles(dir_.path() / "pages"), 2u);
}

TEST_F(PageStoreTest, ReopenWithSmallerCapacityEvictsOldestWrittenPages) {
  {
    auto store = OpenStore(Options());
    for (uint64_t i = 0; i < 4; ++i) PutPage(*store, Key(i));
  }
  // Written order 2, 0, 3, 1 by mtime.
  SetMtime(PageFilePath(dir_.path(), Key(2)), 1000);
  SetMtime(PageFilePath(dir_.path(), Key(0)), 2000);
  SetMtime(PageFilePath(dir_.path(), Key(3)), 3000);
  SetMtime(PageFilePath(dir_.path(), Key(1)), 4000);

  auto store = OpenStore(Options(/*capacity_pages=*/3));
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->Contains(Key(2)));
  EXPECT_EQ(store->stats().pages, 3u);
  EXPECT_EQ(store->stats().evictions, 1u);
  EXPECT_FALSE(fs::exists(PageFilePath(dir_.path(), Key(2))));

  PutPage(*store, Key(9));  // next victim: the oldest remaining, page 0
  EXPECT_FALSE(store->Contains(Key(0)));
  EXPECT_TRUE(store->Contains(Key(3)));
  EXPECT_TRUE(store->Contains(Key(1)));
}

TEST_F(PageStoreTest, PageSizeChangeWipesPages) {
  {
    auto store = OpenStore(Options());
    for (uint64_t i = 0; i < 3; ++i) PutPage(*store, Key(i));
  }
  auto options = Options();
  options.page_size = 2 * kPage;
  {
    auto store = OpenStore(options);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->stats().pages, 0u);
    EXPECT_EQ(CountFiles(dir_.path() / "pages"), 0u);
    PutPage(*store, Key(7));
  }
  auto store = OpenStore(options);  // same size again: pages kept
  EXPECT_EQ(store->stats().pages, 1u);
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
  PageStoreOptions options = Options(/*capacity_pages=*/100);
  options.dirs = {dir_.path(), other.path()};
  {
    auto store = OpenStore(options);
    for (uint64_t i = 0; i < 64; ++i) PutPage(*store, Key(i), 100);
  }
  EXPECT_GT(CountFiles(dir_.path() / "pages"), 0u);
  EXPECT_GT(CountFiles(other.path() / "pages"), 0u);
  EXPECT_EQ(CountFiles(dir_.path() / "pages") + CountFiles(other.path() / "pages"), 64u);

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
// key's bytes; the accounting must end consistent with the disk.
TEST_F(PageStoreTest, ConcurrentPutsReadsAndEvictionsStayConsistent) {
  constexpr int kThreads = 4;
  constexpr int kOpsPerThread = 1500;
  constexpr uint64_t kKeys = 32;
  auto store = OpenStore(Options(/*capacity_pages=*/8));
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
            // kResourceExhausted is allowed: writes in progress may hold the capacity.
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
  // Disk and index agree once quiet, up to entries whose file a racing unlink removed (healed
  // on their next read).
  EXPECT_LE(CountFiles(dir_.path() / "pages"), s.pages);
  EXPECT_TRUE(fs::is_empty(dir_.path() / "tmp"));
  for (uint64_t i = 0; i < kKeys; ++i) {
    const Code code = ReadCode(*store, Key(i));
    EXPECT_TRUE(code == Code::kOk || code == Code::kNotFound) << i;
  }
  EXPECT_EQ(CountFiles(dir_.path() / "pages"), store->stats().pages);
}

// The store believes it has 64 MiB; the disk holds 1 MiB, so writes meet ENOSPC.
class PageStoreFullDiskTest : public PageStoreTest {
 protected:
  void SetUp() override {
    if (!disk_.mounted()) GTEST_SKIP() << disk_.skip_reason();
    store_ = OpenStore(
        {.page_size = kPage, .dirs = {disk_.path() / "store"}, .capacity_bytes = 64 << 20});
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override { store_.reset(); }

  fs::path StoreDirPath() const { return disk_.path() / "store"; }

  ScopedTmpfs disk_{1 << 20};
  std::unique_ptr<PageStore> store_;
};

TEST_F(PageStoreFullDiskTest, FullDiskEvictsOlderPagesToMakeRoom) {
  constexpr uint64_t kPages = 600;  // about 4.7 MiB of page files on a 1 MiB disk
  for (uint64_t i = 0; i < kPages; ++i) {
    const Status s = store_->Put(Key(i), PageData(Key(i), kPage));
    ASSERT_TRUE(s.ok()) << i << ": " << s;
  }
  const PageStoreStats stats = store_->stats();
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_LT(stats.pages, kPages);
  // Only whole pages, each counted once; the newest is there and intact.
  EXPECT_EQ(CountFiles(StoreDirPath() / "pages"), stats.pages);
  EXPECT_TRUE(fs::is_empty(StoreDirPath() / "tmp"));
  std::vector<std::byte> out(kPage);
  auto n = store_->Read(Key(kPages - 1), 0, out);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(out, PageData(Key(kPages - 1), kPage));
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
  EXPECT_EQ(CountFiles(StoreDirPath() / "pages"), store_->stats().pages);
  EXPECT_TRUE(fs::is_empty(StoreDirPath() / "tmp"));
}

TEST_F(PageStoreFullDiskTest, DiskFullOfOtherDataIsResourceExhaustedAndLeavesNothingBehind) {
  disk_.Fill();
  const Status s = store_->Put(Key(0), PageData(Key(0), kPage));
  EXPECT_EQ(s.code(), Code::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("is full"), std::string::npos) << s;
  EXPECT_NE(s.message().find("No space left on device"), std::string::npos) << s;
  EXPECT_FALSE(store_->Contains(Key(0)));
  EXPECT_EQ(store_->stats().pages, 0u);
  EXPECT_EQ(ReadCode(*store_, Key(0)), Code::kNotFound);
  EXPECT_EQ(CountFiles(StoreDirPath() / "pages"), 0u);
  EXPECT_TRUE(fs::is_empty(StoreDirPath() / "tmp"));

  disk_.Unfill();  // room again: the store was never broken
  ASSERT_TRUE(store_->Put(Key(0), PageData(Key(0), kPage)).ok());
  EXPECT_EQ(ReadCode(*store_, Key(0)), Code::kOk);
}

TEST_F(PageStoreFullDiskTest, DiskFilledByOthersAfterPagesWereWrittenEvictsThem) {
  for (uint64_t i = 0; i < 20; ++i) ASSERT_TRUE(store_->Put(Key(i), PageData(Key(i), kPage)).ok());
  disk_.Fill();
  const Status s = store_->Put(Key(100), PageData(Key(100), kPage));
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_GT(store_->stats().evictions, 0u);
  EXPECT_EQ(ReadCode(*store_, Key(0)), Code::kNotFound) << "the oldest page made room";
  EXPECT_EQ(ReadCode(*store_, Key(100)), Code::kOk);
  EXPECT_EQ(CountFiles(StoreDirPath() / "pages"), store_->stats().pages);
}

}  // namespace
}  // namespace alluvium::pagestore
