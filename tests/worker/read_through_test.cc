#include "worker/read_through.h"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pagestore/page_key.h"
#include "pagestore/page_record.h"
#include "pagestore/page_store.h"
#include "testing/scoped_temp_dir.h"
#include "testing/scoped_tmpfs.h"
#include "ufs/local_ufs.h"
#include "worker/counting_ufs.h"
#include "worker/ufs_registry.h"

namespace alluvium::worker {
namespace {

namespace fs = std::filesystem;
using ::alluvium::testing::ScopedTempDir;
using ::alluvium::testing::ScopedTmpfs;
using ::alluvium::worker::testing::CountingFileSystem;
using namespace std::chrono_literals;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kFileSize = 4 * kPage + 100;  // five pages, the last one short

std::vector<std::byte> Pattern(size_t n, int seed = 0) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 31 + i / 251 + seed) & 0xff);
  return v;
}

std::vector<std::byte> Slice(const std::vector<std::byte>& v, uint64_t offset, uint64_t n) {
  return {v.begin() + static_cast<ptrdiff_t>(offset),
          v.begin() + static_cast<ptrdiff_t>(offset + n)};
}

void WriteFile(const fs::path& path, const std::vector<std::byte>& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(content.data()),
            static_cast<std::streamsize>(content.size()));
  ASSERT_TRUE(out.good()) << path;
}

struct Chunk {
  uint64_t offset = 0;
  uint64_t size = 0;
  PageSource source = PageSource::kCache;
};

// What one Read delivered to its sink.
struct Delivery {
  Status status;
  std::vector<std::byte> bytes;
  std::vector<Chunk> chunks;

  int CountFrom(PageSource source) const {
    int n = 0;
    for (const Chunk& c : chunks) n += c.source == source ? 1 : 0;
    return n;
  }
};

class ReadThroughTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto counting = std::make_unique<CountingFileSystem>(std::make_unique<ufs::LocalFileSystem>());
    ufs_ = counting.get();
    registry_.Install("file://", std::move(counting));
  }

  // (Re)creates the page store, one page per region, and the reader over it.
  void OpenStore(uint64_t capacity_pages = 64, const fs::path& dir = {}) {
    reader_.reset();
    store_.reset();
    constexpr uint64_t kRegion = pagestore::kRegionHeaderSize + pagestore::RecordSpan(kPage);
    auto store = pagestore::PageStore::Open({.page_size = kPage,
                                             .dirs = {dir.empty() ? store_dir_.path() : dir},
                                             .capacity_bytes = capacity_pages * kRegion,
                                             .region_size = kRegion});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    reader_ = std::make_unique<ReadThrough>(*store_, registry_);
  }

  // Writes `content` to a UFS file and returns its status, taken without touching the counters.
  ufs::FileStatus MakeFile(const std::string& name, const std::vector<std::byte>& content) {
    const fs::path path = ufs_dir_.path() / name;
    WriteFile(path, content);
    return StatusOf(path);
  }

  ufs::FileStatus StatusOf(const fs::path& path) {
    auto status = ufs::LocalFileSystem().GetStatus("file://" + path.string());
    EXPECT_TRUE(status.ok()) << status.status();
    return status.ok() ? *status : ufs::FileStatus{};
  }

  Delivery Read(const ufs::FileStatus& file, uint64_t offset, uint64_t length) {
    Delivery d;
    d.status = reader_->Read(file, offset, length,
                             [&](uint64_t at, std::span<const std::byte> data, PageSource source) {
                               EXPECT_EQ(at, offset + d.bytes.size()) << "chunks out of order";
                               d.bytes.insert(d.bytes.end(), data.begin(), data.end());
                               d.chunks.push_back({at, data.size(), source});
                               return OkStatus();
                             });
    return d;
  }

  // Where a cached page's data is: its region file and the offset in it.
  std::pair<fs::path, uint64_t> PageBytesAt(const ufs::FileStatus& file, uint64_t index) {
    const pagestore::PageKey key{pagestore::FileIdOf(file.uri, file.version), index};
    auto extent = store_->Locate(key);
    EXPECT_TRUE(extent.ok()) << extent.status();
    if (!extent.ok()) return {};
    return {store_dir_.path() / "regions" / std::to_string(extent->region), extent->offset};
  }

  ScopedTempDir ufs_dir_;
  ScopedTempDir store_dir_;
  UfsRegistry registry_;
  CountingFileSystem* ufs_ = nullptr;  // owned by registry_
  std::unique_ptr<pagestore::PageStore> store_;
  std::unique_ptr<ReadThrough> reader_;
};

TEST_F(ReadThroughTest, FirstReadFetchesEveryPageFromUfsAndSecondServesAllFromCache) {
  OpenStore();
  const auto content = Pattern(kFileSize);
  const auto file = MakeFile("a.bin", content);

  const Delivery first = Read(file, 0, kFileSize);
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_EQ(first.bytes, content);
  ASSERT_EQ(first.chunks.size(), 5u);
  for (size_t i = 0; i < first.chunks.size(); ++i) {
    EXPECT_EQ(first.chunks[i].offset, i * kPage);
    EXPECT_EQ(first.chunks[i].size, i < 4 ? kPage : 100u);
    EXPECT_EQ(first.chunks[i].source, PageSource::kUfs) << "page " << i;
  }
  EXPECT_EQ(ufs_->open_calls.load(), 5);

  ufs_->open_calls = 0;
  ufs_->read_calls = 0;
  const Delivery second = Read(file, 0, kFileSize);
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(second.bytes, content);
  ASSERT_EQ(second.chunks.size(), 5u);
  EXPECT_EQ(second.CountFrom(PageSource::kCache), 5);
  EXPECT_EQ(ufs_->open_calls.load(), 0);
  EXPECT_EQ(ufs_->read_calls.load(), 0);
}

TEST_F(ReadThroughTest, RangeStartingAndEndingMidPageServesExactlyThoseBytes) {
  OpenStore();
  const auto content = Pattern(kFileSize);
  const auto file = MakeFile("a.bin", content);

  const Delivery cold = Read(file, 1000, 2 * kPage);
  ASSERT_TRUE(cold.status.ok()) << cold.status;
  EXPECT_EQ(cold.bytes, Slice(content, 1000, 2 * kPage));
  ASSERT_EQ(cold.chunks.size(), 3u);
  EXPECT_EQ(cold.chunks[0].offset, 1000u);
  EXPECT_EQ(cold.chunks[0].size, kPage - 1000);
  EXPECT_EQ(cold.chunks[1].offset, kPage);
  EXPECT_EQ(cold.chunks[1].size, kPage);
  EXPECT_EQ(cold.chunks[2].offset, 2 * kPage);
  EXPECT_EQ(cold.chunks[2].size, 1000u);
  EXPECT_EQ(cold.CountFrom(PageSource::kUfs), 3);
  EXPECT_EQ(ufs_->open_calls.load(), 3);

  // The whole pages were cached, so any range inside them now comes from the cache.
  const Delivery warm = Read(file, 10, 3 * kPage - 20);
  ASSERT_TRUE(warm.status.ok()) << warm.status;
  EXPECT_EQ(warm.bytes, Slice(content, 10, 3 * kPage - 20));
  EXPECT_EQ(warm.CountFrom(PageSource::kCache), 3);
  EXPECT_EQ(ufs_->open_calls.load(), 3);
}

TEST_F(ReadThroughTest, RangeRunningPastEofIsClippedToTheFile) {
  OpenStore();
  const auto content = Pattern(kFileSize);
  const auto file = MakeFile("a.bin", content);

  const Delivery d = Read(file, kFileSize - 10, 1 << 20);
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(d.bytes, Slice(content, kFileSize - 10, 10));
}

TEST_F(ReadThroughTest, RangeStartingAtOrPastEofReturnsNothing) {
  OpenStore();
  const auto file = MakeFile("a.bin", Pattern(kFileSize));

  for (uint64_t offset : {kFileSize, kFileSize + 1, 100 * kPage}) {
    const Delivery d = Read(file, offset, kPage);
    ASSERT_TRUE(d.status.ok()) << d.status;
    EXPECT_TRUE(d.chunks.empty()) << "offset " << offset;
  }
  EXPECT_EQ(ufs_->open_calls.load(), 0);
}

TEST_F(ReadThroughTest, ZeroLengthReadAndEmptyFileReturnNothing) {
  OpenStore();
  const auto file = MakeFile("a.bin", Pattern(kFileSize));
  const auto empty = MakeFile("empty.bin", {});

  const Delivery zero = Read(file, 5, 0);
  ASSERT_TRUE(zero.status.ok()) << zero.status;
  EXPECT_TRUE(zero.chunks.empty());
  const Delivery none = Read(empty, 0, kPage);
  ASSERT_TRUE(none.status.ok()) << none.status;
  EXPECT_TRUE(none.chunks.empty());
  EXPECT_EQ(ufs_->open_calls.load(), 0);
}

TEST_F(ReadThroughTest, LastShortPageIsFetchedCachedAndServedAtItsLength) {
  OpenStore();
  const auto content = Pattern(kFileSize);
  const auto file = MakeFile("a.bin", content);

  const Delivery cold = Read(file, 4 * kPage, kPage);
  ASSERT_TRUE(cold.status.ok()) << cold.status;
  EXPECT_EQ(cold.bytes, Slice(content, 4 * kPage, 100));
  ASSERT_EQ(cold.chunks.size(), 1u);
  EXPECT_EQ(cold.chunks[0].source, PageSource::kUfs);

  const Delivery warm = Read(file, 4 * kPage, kPage);
  ASSERT_TRUE(warm.status.ok()) << warm.status;
  EXPECT_EQ(warm.bytes, Slice(content, 4 * kPage, 100));
  ASSERT_EQ(warm.chunks.size(), 1u);
  EXPECT_EQ(warm.chunks[0].source, PageSource::kCache);

  const Delivery inside = Read(file, 4 * kPage + 50, 30);
  ASSERT_TRUE(inside.status.ok()) << inside.status;
  EXPECT_EQ(inside.bytes, Slice(content, 4 * kPage + 50, 30));
  EXPECT_EQ(inside.CountFrom(PageSource::kCache), 1);
  EXPECT_EQ(ufs_->open_calls.load(), 1);
}

TEST_F(ReadThroughTest, ConcurrentReadsOfOneMissingPageFetchItFromUfsOnce) {
  constexpr int kThreads = 8;
  OpenStore();
  const auto content = Pattern(kFileSize);
  const auto file = MakeFile("a.bin", content);
  // Slow enough that every thread arrives while the first fetch is still running.
  ufs_->set_read_delay(100ms);

  std::latch start(kThreads);
  std::vector<Delivery> results(kThreads);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        results[t] = Read(file, kPage, kPage);
      });
    }
  }
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_TRUE(results[t].status.ok()) << "thread " << t << ": " << results[t].status;
    EXPECT_EQ(results[t].bytes, Slice(content, kPage, kPage)) << "thread " << t;
  }
  EXPECT_EQ(ufs_->open_calls.load(), 1);
  EXPECT_EQ(ufs_->read_calls.load(), 1);
}

TEST_F(ReadThroughTest, FileThatShrankAfterItsStatusWasTakenGivesAborted) {
  OpenStore();
  const auto file = MakeFile("a.bin", Pattern(kFileSize));
  fs::resize_file(ufs_dir_.path() / "a.bin", kPage + kPage / 2);

  EXPECT_EQ(Read(file, 0, kFileSize).status.code(), Code::kAborted);
  // A page that is now entirely past the end, and one that is now short.
  EXPECT_EQ(Read(file, 3 * kPage, kPage).status.code(), Code::kAborted);
  EXPECT_EQ(Read(file, kPage + 10, 10).status.code(), Code::kAborted);
}

TEST_F(ReadThroughTest, FileThatLostPartOfItsShortLastPageGivesAborted) {
  OpenStore();
  const auto file = MakeFile("a.bin", Pattern(kFileSize));
  fs::resize_file(ufs_dir_.path() / "a.bin", kFileSize - 50);

  EXPECT_EQ(Read(file, 4 * kPage, 10).status.code(), Code::kAborted);
}

TEST_F(ReadThroughTest, RewrittenFileIsServedFromItsNewVersionNotTheOldPages) {
  OpenStore();
  const auto old_content = Pattern(kFileSize);
  const auto old_file = MakeFile("a.bin", old_content);
  ASSERT_TRUE(Read(old_file, 0, kFileSize).status.ok());

  const auto new_content = Pattern(kFileSize + 1, /*seed=*/99);  // new size: a new version
  const auto new_file = MakeFile("a.bin", new_content);
  ASSERT_NE(new_file.version, old_file.version);

  const Delivery d = Read(new_file, 0, kFileSize + 1);
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(d.bytes, new_content);
  EXPECT_EQ(d.CountFrom(PageSource::kUfs), 5);
}

TEST_F(ReadThroughTest, CorruptedCachedPageIsRefetchedFromUfsAndServedCorrectly) {
  OpenStore();
  const auto content = Pattern(kFileSize);
  const auto file = MakeFile("a.bin", content);
  ASSERT_TRUE(Read(file, 0, kFileSize).status.ok());

  const auto [page, at] = PageBytesAt(file, 2);
  ASSERT_FALSE(page.empty());
  {
    std::fstream f(page, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at + 123));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(static_cast<std::streamoff>(at + 123));
    f.write(&c, 1);
    ASSERT_TRUE(f.good()) << page;
  }
  ufs_->open_calls = 0;

  const Delivery d = Read(file, 0, kFileSize);
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(d.bytes, content);
  ASSERT_EQ(d.chunks.size(), 5u);
  for (size_t i = 0; i < d.chunks.size(); ++i) {
    EXPECT_EQ(d.chunks[i].source, i == 2 ? PageSource::kUfs : PageSource::kCache) << "page " << i;
  }
  EXPECT_EQ(ufs_->open_calls.load(), 1);

  // The refetched page was cached again.
  const Delivery again = Read(file, 0, kFileSize);
  ASSERT_TRUE(again.status.ok()) << again.status;
  EXPECT_EQ(again.bytes, content);
  EXPECT_EQ(again.CountFrom(PageSource::kCache), 5);
  EXPECT_EQ(ufs_->open_calls.load(), 1);
}

TEST_F(ReadThroughTest, PageStoreSmallerThanTheFileStillServesCorrectBytes) {
  OpenStore(/*capacity_pages=*/1);
  const auto content = Pattern(kFileSize);
  const auto file = MakeFile("a.bin", content);

  for (int round = 0; round < 2; ++round) {
    const Delivery d = Read(file, 0, kFileSize);
    ASSERT_TRUE(d.status.ok()) << "round " << round << ": " << d.status;
    EXPECT_EQ(d.bytes, content) << "round " << round;
  }
}

TEST_F(ReadThroughTest, WithoutTheCacheEveryPageComesFromTheUfsAndNoneIsStored) {
  OpenStore();
  const std::vector<std::byte> content = Pattern(kFileSize);
  const ufs::FileStatus file = MakeFile("a", content);
  ASSERT_TRUE(Read(file, 0, kFileSize).status.ok());  // cached, as reads normally are
  const uint64_t pages = store_->stats().pages;
  ASSERT_EQ(pages, 5u);
  const int reads_before = ufs_->read_calls.load();

  Delivery d;
  d.status = reader_->Read(
      file, kPage / 2, 2 * kPage,
      [&](uint64_t, std::span<const std::byte> data, PageSource source) {
        d.bytes.insert(d.bytes.end(), data.begin(), data.end());
        d.chunks.push_back({0, data.size(), source});
        return OkStatus();
      },
      /*use_cache=*/false);
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(d.bytes, Slice(content, kPage / 2, 2 * kPage));
  EXPECT_EQ(d.CountFrom(PageSource::kUfs), 3);  // even though all three pages are cached
  EXPECT_GT(ufs_->read_calls.load(), reads_before);
  EXPECT_EQ(store_->stats().pages, pages);
  EXPECT_EQ(store_->stats().puts, pages);  // nothing written
}

TEST_F(ReadThroughTest, PageStoreWriteFailureDoesNotFailTheRead) {
  ScopedTmpfs disk(1 << 20);
  if (!disk.mounted()) GTEST_SKIP() << disk.skip_reason();
  OpenStore(64, disk.path() / "store");
  const auto content = Pattern(kFileSize);
  const auto file = MakeFile("a.bin", content);
  disk.Fill();  // every Put now fails with ENOSPC

  for (int round = 0; round < 2; ++round) {
    const Delivery d = Read(file, 0, kFileSize);
    ASSERT_TRUE(d.status.ok()) << "round " << round << ": " << d.status;
    EXPECT_EQ(d.bytes, content) << "round " << round;
    EXPECT_EQ(d.CountFrom(PageSource::kUfs), 5) << "round " << round;
  }
  EXPECT_EQ(ufs_->open_calls.load(), 10);
  reader_.reset();
  store_.reset();  // before the disk goes
}

TEST_F(ReadThroughTest, SinkErrorStopsTheReadAndIsReturned) {
  OpenStore();
  const auto file = MakeFile("a.bin", Pattern(kFileSize));

  int calls = 0;
  const Status st = reader_->Read(file, 0, kFileSize, [&](uint64_t, auto, PageSource) {
    return ++calls == 2 ? Cancelled("client went away") : OkStatus();
  });
  EXPECT_EQ(st.code(), Code::kCancelled);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(ufs_->open_calls.load(), 2);
}

TEST_F(ReadThroughTest, DeletedUfsFileGivesNotFound) {
  OpenStore();
  const auto file = MakeFile("a.bin", Pattern(kFileSize));
  fs::remove(ufs_dir_.path() / "a.bin");

  EXPECT_EQ(Read(file, 0, kFileSize).status.code(), Code::kNotFound);
}

TEST_F(ReadThroughTest, UriWithoutFileSystemGivesUnimplemented) {
  OpenStore();
  const ufs::FileStatus file{.uri = "hdfs://nn/key", .length = 10, .version = "etag"};

  EXPECT_EQ(Read(file, 0, 10).status.code(), Code::kUnimplemented);
}

}  // namespace
}  // namespace alluvium::worker
