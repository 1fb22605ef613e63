#include "worker/load_executor.h"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/metrics.h"
#include "metastore/meta_store.h"
#include "pagestore/page_key.h"
#include "pagestore/page_store.h"
#include "testing/eventually.h"
#include "testing/scoped_temp_dir.h"
#include "ufs/local_ufs.h"
#include "worker/counting_ufs.h"
#include "worker/read_through.h"
#include "worker/ufs_registry.h"

namespace alluvium::worker {
namespace {

namespace fs = std::filesystem;
using ::alluvium::testing::Eventually;
using ::alluvium::testing::ScopedTempDir;
using namespace std::chrono_literals;

constexpr uint64_t kPage = 4096;

using testing::CountingFileSystem;  // tests/worker/counting_ufs.h

std::vector<std::byte> Pattern(size_t n, int seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 131 + i / 4099 + seed) & 0xff);
  return v;
}

class LoadExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ufs_root_ = dir_.path() / "ufs";
    fs::create_directories(ufs_root_);
    auto counting = std::make_unique<CountingFileSystem>(std::make_unique<ufs::LocalFileSystem>());
    ufs_ = counting.get();
    registry_.Install("file://", std::move(counting));
    auto meta = metastore::MetaStore::Open(dir_.path() / "meta");
    ASSERT_TRUE(meta.ok()) << meta.status();
    meta_ = std::move(*meta);
  }

  // (Re)creates the page store and a started executor over it.
  void Open(uint64_t capacity_pages = 4096, LoadExecutorOptions options = {.threads = 4},
            uint64_t page_size = kPage) {
    executor_.reset();
    store_.reset();
    auto store = pagestore::PageStore::Open({.page_size = page_size,
                                             .dirs = {dir_.path() / "pages"},
                                             .capacity_bytes = capacity_pages * page_size});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    executor_ = std::make_unique<LoadExecutor>(options, *store_, registry_, *meta_);
    executor_->Start();
  }

  // Writes a file of `size` pattern bytes and returns its status as a listing would.
  ufs::FileStatus Write(const std::string& name, size_t size, int seed = 0) {
    const fs::path path = ufs_root_ / name;
    fs::create_directories(path.parent_path());
    const std::vector<std::byte> bytes = Pattern(size, seed);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(size));
    out.close();
    auto status = ufs::LocalFileSystem().GetStatus(Uri(name));
    EXPECT_TRUE(status.ok()) << status.status();
    return status.value_or({});
  }

  std::string Uri(const std::string& name) const { return "file://" + (ufs_root_ / name).string(); }

  static LoadItem Whole(const ufs::FileStatus& status) {
    return {.status = status, .offset = 0, .length = status.length};
  }

  std::vector<ItemResult> Run(LoadBatch batch) { return executor_->Run(batch, {}); }

  bool PageCached(const ufs::FileStatus& status, uint64_t index) const {
    return store_->Contains({pagestore::FileIdOf(status.uri, status.version), index});
  }

  ScopedTempDir dir_;
  fs::path ufs_root_;
  UfsRegistry registry_;
  CountingFileSystem* ufs_ = nullptr;
  std::unique_ptr<metastore::MetaStore> meta_;
  std::unique_ptr<pagestore::PageStore> store_;
  std::unique_ptr<LoadExecutor> executor_;  // last: stopped before the store and meta close
};

TEST_F(LoadExecutorTest, BatchLoadsEveryPageAndReadsThenHitTheCache) {
  Open();
  const std::vector<ufs::FileStatus> files = {
      Write("a.bin", 3 * kPage + 100, 1), Write("b.bin", 2 * kPage, 2), Write("c.bin", 1, 3),
      Write("empty.bin", 0, 4), Write("d/e.bin", 5 * kPage + 7, 5)};
  LoadBatch batch{.job_id = "job"};
  for (const auto& f : files) batch.items.push_back(Whole(f));
  const int64_t items_before = metrics::ValueOf("alluvium_worker_load_items_total");

  const std::vector<ItemResult> results = Run(batch);

  ASSERT_EQ(results.size(), files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_TRUE(results[i].status.ok()) << files[i].uri << ": " << results[i].status;
    EXPECT_EQ(results[i].bytes_loaded, files[i].length) << files[i].uri;
    EXPECT_EQ(results[i].bytes_skipped, 0u);
    auto cached = meta_->Get(files[i].uri);
    ASSERT_TRUE(cached.ok()) << cached.status();
    EXPECT_EQ(cached->status, files[i]);
  }
  EXPECT_EQ(store_->stats().pages, 4u + 2 + 1 + 0 + 6);
  EXPECT_EQ(metrics::ValueOf("alluvium_worker_load_items_total"),
            items_before + static_cast<int64_t>(files.size()));

  // Every later read is served from the cache, with the UFS's bytes.
  ReadThrough reads(*store_, registry_);
  const int reads_before = ufs_->read_calls.load();
  for (size_t i = 0; i < files.size(); ++i) {
    std::vector<std::byte> got;
    Status st = reads.Read(files[i], 0, files[i].length,
                           [&](uint64_t, std::span<const std::byte> data, PageSource source) {
                             EXPECT_EQ(source, PageSource::kCache) << files[i].uri;
                             got.insert(got.end(), data.begin(), data.end());
                             return OkStatus();
                           });
    ASSERT_TRUE(st.ok()) << st;
    EXPECT_EQ(got, Pattern(files[i].length, static_cast<int>(i) + 1)) << files[i].uri;
  }
  EXPECT_EQ(ufs_->read_calls.load(), reads_before);
}

TEST_F(LoadExecutorTest, SegmentsCacheExactlyTheirPages) {
  Open();
  const ufs::FileStatus big = Write("big.bin", 10 * kPage + 17);  // 11 pages, the last short
  const std::vector<ItemResult> middle =
      Run({.job_id = "job", .items = {{.status = big, .offset = 4 * kPage, .length = 4 * kPage}}});
  ASSERT_EQ(middle.size(), 1u);
  ASSERT_TRUE(middle[0].status.ok()) << middle[0].status;
  EXPECT_EQ(middle[0].bytes_loaded, 4 * kPage);
  for (uint64_t p = 0; p < 11; ++p) EXPECT_EQ(PageCached(big, p), p >= 4 && p < 8) << p;

  // The rest, as two more segments; the last one's length runs past the end and is clipped.
  const std::vector<ItemResult> rest =
      Run({.job_id = "job",
           .items = {{.status = big, .offset = 0, .length = 4 * kPage},
                     {.status = big, .offset = 8 * kPage, .length = 4 * kPage}}});
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_TRUE(rest[0].status.ok()) << rest[0].status;
  EXPECT_TRUE(rest[1].status.ok()) << rest[1].status;
  EXPECT_EQ(rest[0].bytes_loaded, 4 * kPage);
  EXPECT_EQ(rest[1].bytes_loaded, 2 * kPage + 17);
  for (uint64_t p = 0; p < 11; ++p) EXPECT_TRUE(PageCached(big, p)) << p;
  EXPECT_EQ(store_->PageLength({pagestore::FileIdOf(big.uri, big.version), 10}).value_or(0), 17u);
}

TEST_F(LoadExecutorTest, SkipIfExistsReadsNothingForCachedFiles) {
  Open();
  const ufs::FileStatus a = Write("a.bin", 3 * kPage + 5);
  const ufs::FileStatus b = Write("b.bin", kPage);
  ASSERT_TRUE(Run({.job_id = "j", .items = {Whole(a), Whole(b)}})[0].status.ok());
  const int opens = ufs_->open_calls.load();
  const int reads = ufs_->read_calls.load();
  const uint64_t puts = store_->stats().puts;

  const auto results = Run({.job_id = "j", .items = {Whole(a), Whole(b)}, .skip_if_exists = true});

  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].status.ok()) << results[0].status;
  EXPECT_EQ(results[0].bytes_skipped, a.length);
  EXPECT_EQ(results[0].bytes_loaded, 0u);
  EXPECT_EQ(results[1].bytes_skipped, b.length);
  EXPECT_EQ(ufs_->open_calls.load(), opens);
  EXPECT_EQ(ufs_->read_calls.load(), reads);
  EXPECT_EQ(store_->stats().puts, puts);
}

TEST_F(LoadExecutorTest, WithoutSkipIfExistsCachedPagesCountAsLoadedButAreNotReread) {
  Open();
  const ufs::FileStatus a = Write("a.bin", 3 * kPage + 5);
  ASSERT_TRUE(Run({.job_id = "j", .items = {Whole(a)}})[0].status.ok());
  const int reads = ufs_->read_calls.load();

  const auto results = Run({.job_id = "j", .items = {Whole(a)}});

  ASSERT_TRUE(results[0].status.ok()) << results[0].status;
  EXPECT_EQ(results[0].bytes_loaded, a.length);
  EXPECT_EQ(results[0].bytes_skipped, 0u);
  EXPECT_EQ(ufs_->read_calls.load(), reads);
}

TEST_F(LoadExecutorTest, SkipIfExistsLoadsOnlyTheMissingPagesOfAPartlyCachedFile) {
  Open();
  const ufs::FileStatus a = Write("a.bin", 4 * kPage);
  ASSERT_TRUE(Run({.job_id = "j", .items = {Whole(a)}})[0].status.ok());
  ASSERT_TRUE(store_->Delete({pagestore::FileIdOf(a.uri, a.version), 2}).ok());
  const int reads = ufs_->read_calls.load();

  const auto results = Run({.job_id = "j", .items = {Whole(a)}, .skip_if_exists = true});

  ASSERT_TRUE(results[0].status.ok()) << results[0].status;
  EXPECT_EQ(results[0].bytes_loaded, kPage);
  EXPECT_EQ(results[0].bytes_skipped, 3 * kPage);
  EXPECT_EQ(ufs_->read_calls.load(), reads + 1);
  EXPECT_TRUE(PageCached(a, 2));
}

TEST_F(LoadExecutorTest, SkipIfExistsChecksOnlyTheSegmentsPages) {
  Open();
  const ufs::FileStatus a = Write("a.bin", 4 * kPage);
  // Only pages 1 and 2 cached; the segment [kPage, 3 * kPage) is complete, its neighbours not.
  ASSERT_TRUE(
      Run({.job_id = "j", .items = {{.status = a, .offset = kPage, .length = 2 * kPage}}})[0]
          .status.ok());
  const int opens = ufs_->open_calls.load();

  const auto results = Run({.job_id = "j",
                            .items = {{.status = a, .offset = kPage, .length = 2 * kPage}},
                            .skip_if_exists = true});

  EXPECT_EQ(results[0].bytes_skipped, 2 * kPage);
  EXPECT_EQ(ufs_->open_calls.load(), opens);
  EXPECT_FALSE(PageCached(a, 0));
  EXPECT_FALSE(PageCached(a, 3));
}

TEST_F(LoadExecutorTest, MetadataOnlyStoresStatusesAndNoPages) {
  Open();
  const ufs::FileStatus a = Write("d/a.bin", 2 * kPage);
  auto dir = ufs::LocalFileSystem().GetStatus(Uri("d"));
  ASSERT_TRUE(dir.ok()) << dir.status();

  const auto results =
      Run({.job_id = "j", .items = {Whole(a), {.status = *dir}}, .metadata_only = true});

  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].status.ok()) << results[0].status;
  EXPECT_TRUE(results[1].status.ok()) << results[1].status;
  EXPECT_EQ(results[0].bytes_loaded, 0u);
  EXPECT_EQ(store_->stats().pages, 0u);
  EXPECT_EQ(ufs_->open_calls.load(), 0);
  EXPECT_EQ(meta_->Get(a.uri).value_or({}).status, a);
  EXPECT_EQ(meta_->Get(dir->uri).value_or({}).status, *dir);
}

TEST_F(LoadExecutorTest, DirectoryItemRecordsItsStatusOnly) {
  Open();
  Write("d/a.bin", 10);
  auto dir = ufs::LocalFileSystem().GetStatus(Uri("d"));
  ASSERT_TRUE(dir.ok());
  const auto results = Run({.job_id = "j", .items = {{.status = *dir}}});
  EXPECT_TRUE(results[0].status.ok()) << results[0].status;
  EXPECT_EQ(meta_->Get(dir->uri).value_or({}).status, *dir);
  EXPECT_EQ(store_->stats().pages, 0u);
}

TEST_F(LoadExecutorTest, MissingFileFailsAloneWithNotFound) {
  Open();
  const ufs::FileStatus a = Write("a.bin", kPage + 1);
  ufs::FileStatus gone = Write("gone.bin", kPage);
  fs::remove(ufs_root_ / "gone.bin");
  const ufs::FileStatus b = Write("b.bin", 2 * kPage);

  const auto results = Run({.job_id = "j", .items = {Whole(a), Whole(gone), Whole(b)}});

  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].status.ok()) << results[0].status;
  EXPECT_EQ(results[1].status.code(), Code::kNotFound) << results[1].status;
  EXPECT_TRUE(results[2].status.ok()) << results[2].status;
  EXPECT_EQ(results[2].bytes_loaded, b.length);
  EXPECT_EQ(meta_->Get(gone.uri).status().code(), Code::kNotFound);
}

TEST_F(LoadExecutorTest, FileShorterThanItsStatusIsAborted) {
  Open();
  const ufs::FileStatus listed = Write("a.bin", 3 * kPage);
  fs::resize_file(ufs_root_ / "a.bin", 2 * kPage + 10);

  const auto results = Run({.job_id = "j", .items = {Whole(listed)}});

  EXPECT_EQ(results[0].status.code(), Code::kAborted) << results[0].status;
  EXPECT_NE(results[0].status.message().find(listed.uri), std::string::npos) << results[0].status;
  EXPECT_EQ(meta_->Get(listed.uri).status().code(), Code::kNotFound);  // not trusted any more
}

TEST_F(LoadExecutorTest, FileLongerThanItsStatusIsAborted) {
  Open();
  const ufs::FileStatus listed = Write("a.bin", 2 * kPage + 10);
  fs::resize_file(ufs_root_ / "a.bin", 2 * kPage + 20);
  const auto results = Run({.job_id = "j", .items = {Whole(listed)}});
  EXPECT_EQ(results[0].status.code(), Code::kAborted) << results[0].status;
}

TEST_F(LoadExecutorTest, SegmentLargerThanThePageStoreIsAFailedPrecondition) {
  Open(/*capacity_pages=*/2);
  const ufs::FileStatus big = Write("big.bin", 3 * kPage);
  const ufs::FileStatus small = Write("small.bin", kPage);

  const auto results = Run({.job_id = "j", .items = {Whole(big), Whole(small)}});

  EXPECT_EQ(results[0].status.code(), Code::kFailedPrecondition) << results[0].status;
  EXPECT_NE(results[0].status.message().find(big.uri), std::string::npos);
  EXPECT_TRUE(results[1].status.ok()) << results[1].status;
  EXPECT_EQ(meta_->Get(big.uri).value_or({}).status, big);  // the status is still right
}

// The page store's capacity in pages for these tests: 64 regions (1/64 of it each), so a job
// of 256 pages cannot all stay.
constexpr uint64_t kPinTestPages = 128;

TEST_F(LoadExecutorTest, APinningJobNeverEvictsItsOwnPagesAndFailsWhatDoesNotFit) {
  Open(kPinTestPages, {.threads = 4});
  LoadBatch batch{.job_id = "big", .pin = true};
  std::vector<ufs::FileStatus> files;
  for (int i = 0; i < 8; ++i) {
    files.push_back(Write("f" + std::to_string(i), 32 * kPage, i));  // 256 pages in all
    batch.items.push_back(Whole(files.back()));
  }

  const auto results = Run(batch);

  size_t ok = 0, refused = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    const Status& st = results[i].status;
    if (st.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st;
      EXPECT_NE(st.message().find("this load"), std::string::npos) << st;
      ++refused;
    }
  }
  // Whole segments or none: those loading at once hold room for themselves, so every one that
  // started fits, and the rest are refused before they read a byte.
  EXPECT_EQ(ok, store_->stats().page_capacity_bytes / (32 * kPage));
  EXPECT_EQ(refused, 8 - ok);
  EXPECT_EQ(store_->PinnedBytes(1), ok * 32 * kPage);
  EXPECT_EQ(store_->stats().evictions, 0u);  // nothing of the job was evicted for the rest
  // What the job reported cached is all still there.
  std::vector<LoadItem> done;
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].status.ok()) done.push_back(Whole(files[i]));
  }
  for (uint64_t bytes : executor_->CachedBytes(done)) EXPECT_EQ(bytes, 32 * kPage);

  // Once the job ends its pages are ordinary cached pages: another job may evict them.
  EXPECT_GT(executor_->EndJob("big"), 0u);
  EXPECT_EQ(executor_->EndJob("big"), 0u);
  EXPECT_EQ(store_->stats().pinned_bytes, 0u);
  const auto next =
      Run({.job_id = "next", .items = {Whole(Write("g", 32 * kPage, 9))}, .pin = true});
  EXPECT_TRUE(next[0].status.ok()) << next[0].status;
}

TEST_F(LoadExecutorTest, WithoutPinsAJobLargerThanTheCacheEvictsItsOwnPages) {
  Open(kPinTestPages);
  LoadBatch batch{.job_id = "big"};
  for (int i = 0; i < 8; ++i)
    batch.items.push_back(Whole(Write("f" + std::to_string(i), 32 * kPage, i)));
  for (const ItemResult& r : Run(batch)) EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_GT(store_->stats().evictions, 0u);  // today's LRU behaviour, which allowEviction keeps
}

TEST_F(LoadExecutorTest, AJobPinsThePagesItFindsAlreadyCached) {
  Open(kPinTestPages);
  const ufs::FileStatus old = Write("old", 32 * kPage, 1);
  ASSERT_TRUE(Run({.job_id = "earlier", .items = {Whole(old)}})[0].status.ok());
  // The job asks for the old file (already cached: skipped, and pinned) and then for more than
  // the rest of the cache: the old file's pages, the least recently written, must stay.
  LoadBatch batch{.job_id = "j", .skip_if_exists = true, .pin = true};
  batch.items.push_back(Whole(old));
  ASSERT_EQ(Run(batch)[0].bytes_skipped, 32 * kPage);
  batch.items.clear();
  for (int i = 0; i < 4; ++i)
    batch.items.push_back(Whole(Write("n" + std::to_string(i), 32 * kPage, i + 10)));
  (void)Run(batch);
  EXPECT_EQ(executor_->CachedBytes({Whole(old)})[0], 32 * kPage);
}

TEST_F(LoadExecutorTest, EmptyBatchReturnsNoResults) {
  Open();
  EXPECT_TRUE(Run({.job_id = "j"}).empty());
}

TEST_F(LoadExecutorTest, UnalignedOffsetIsInvalidArgument) {
  Open();
  const ufs::FileStatus a = Write("a.bin", 2 * kPage);
  const auto results = Run({.job_id = "j", .items = {{.status = a, .offset = 7, .length = 10}}});
  EXPECT_EQ(results[0].status.code(), Code::kInvalidArgument) << results[0].status;
}

TEST_F(LoadExecutorTest, CachedBytesTellsHowMuchOfEachSegmentIsCached) {
  Open();
  const ufs::FileStatus a = Write("a.bin", 4 * kPage + 1);
  const ufs::FileStatus b = Write("b.bin", kPage);
  const ufs::FileStatus empty = Write("empty.bin", 0);
  auto dir = ufs::LocalFileSystem().GetStatus(Uri(""));
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(Run({.job_id = "j", .items = {{.status = a, .offset = 0, .length = 2 * kPage}}})[0]
                  .status.ok());

  const std::vector<uint64_t> cached = executor_->CachedBytes({
      {.status = a, .offset = 0, .length = 2 * kPage},          // loaded
      {.status = a, .offset = 0, .length = 2 * kPage + 1},      // one byte into page 2
      {.status = a, .offset = 2 * kPage, .length = 3 * kPage},  // not loaded
      {.status = a, .offset = kPage, .length = 3 * kPage},      // half loaded
      Whole(b),
      Whole(empty),
      {.status = *dir},
  });
  EXPECT_EQ(cached, (std::vector<uint64_t>{2 * kPage, 2 * kPage, 0, kPage, 0, 0, 0}));

  ASSERT_TRUE(Run({.job_id = "j", .items = {Whole(a), Whole(b)}})[0].status.ok());
  EXPECT_EQ(executor_->CachedBytes({Whole(a), Whole(b)}),
            (std::vector<uint64_t>{4 * kPage + 1, kPage}));
}

TEST_F(LoadExecutorTest, StopDuringABatchCancelsItsItemsPromptly) {
  Open(4096, {.threads = 2});
  LoadBatch batch{.job_id = "j"};
  for (int i = 0; i < 4; ++i) {
    batch.items.push_back(Whole(Write("f" + std::to_string(i), 200 * kPage, i)));
  }
  ufs_->set_read_delay(std::chrono::milliseconds(20));  // 4 s per file if it ran to the end
  std::vector<ItemResult> results;
  std::thread runner([&] { results = executor_->Run(batch, {}); });
  ASSERT_TRUE(Eventually([&] { return ufs_->read_calls.load() >= 2; }, 10s));

  executor_->Stop();
  runner.join();

  ASSERT_EQ(results.size(), 4u);
  for (const ItemResult& r : results) {
    EXPECT_EQ(r.status.code(), Code::kCancelled) << r.status;
    EXPECT_LT(r.bytes_loaded, 200 * kPage);
  }
  executor_->Stop();  // idempotent
  // A stopped executor refuses work without blocking.
  EXPECT_EQ(Run({.job_id = "j", .items = {batch.items[0]}})[0].status.code(), Code::kCancelled);
}

TEST_F(LoadExecutorTest, CallerStopAndCancelPollEndTheBatch) {
  Open(4096, {.threads = 2});
  const ufs::FileStatus a = Write("a.bin", 200 * kPage, 1);
  const ufs::FileStatus b = Write("b.bin", 200 * kPage, 2);
  ufs_->set_read_delay(std::chrono::milliseconds(20));

  std::stop_source stop;
  std::vector<ItemResult> by_token;
  std::thread runner(
      [&] { by_token = executor_->Run({.job_id = "j", .items = {Whole(a)}}, stop.get_token()); });
  ASSERT_TRUE(Eventually([&] { return ufs_->read_calls.load() >= 1; }, 10s));
  stop.request_stop();
  runner.join();
  EXPECT_EQ(by_token[0].status.code(), Code::kCancelled) << by_token[0].status;

  std::atomic<bool> gone{false};
  std::thread poller([&] {
    by_token =
        executor_->Run({.job_id = "j", .items = {Whole(b)}}, {}, [&] { return gone.load(); });
  });
  const int reads = ufs_->read_calls.load();
  ASSERT_TRUE(Eventually([&] { return ufs_->read_calls.load() > reads; }, 10s));
  gone = true;
  poller.join();
  EXPECT_EQ(by_token[0].status.code(), Code::kCancelled) << by_token[0].status;
  // The executor itself is still running.
  ufs_->set_read_delay(std::chrono::milliseconds(0));
  const ufs::FileStatus c = Write("c.bin", kPage);
  EXPECT_TRUE(Run({.job_id = "j", .items = {Whole(c)}})[0].status.ok());
}

TEST_F(LoadExecutorTest, FullQueueRejectsWhatDoesNotFitWithResourceExhausted) {
  Open(4096, {.threads = 1, .max_queued_items = 2});
  const ufs::FileStatus slow = Write("slow.bin", 20 * kPage);
  ufs_->set_read_delay(std::chrono::milliseconds(20));
  std::vector<ItemResult> first;
  std::thread runner([&] { first = executor_->Run({.job_id = "j", .items = {Whole(slow)}}, {}); });
  ASSERT_TRUE(Eventually([&] { return ufs_->read_calls.load() >= 1; }, 10s));  // the thread is busy

  LoadBatch second{.job_id = "j"};
  for (int i = 0; i < 5; ++i) second.items.push_back(Whole(Write("q" + std::to_string(i), 10)));
  const auto results = Run(second);
  runner.join();

  ASSERT_EQ(results.size(), 5u);
  EXPECT_TRUE(results[0].status.ok()) << results[0].status;
  EXPECT_TRUE(results[1].status.ok()) << results[1].status;
  for (size_t i = 2; i < 5; ++i) {
    EXPECT_EQ(results[i].status.code(), Code::kResourceExhausted) << results[i].status;
  }
  EXPECT_TRUE(first[0].status.ok()) << first[0].status;
}

TEST_F(LoadExecutorTest, RunBeforeStartIsCancelled) {
  Open();
  const ufs::FileStatus a = Write("a.bin", 10);
  LoadExecutor idle({.threads = 1}, *store_, registry_, *meta_);
  EXPECT_EQ(idle.Run({.job_id = "j", .items = {Whole(a)}}, {})[0].status.code(), Code::kCancelled);
}

TEST_F(LoadExecutorTest, ConcurrentRequestsOfOneJobShareItsBandwidth) {
  constexpr uint64_t kBigPage = 64 << 10;
  constexpr uint64_t kRate = 8 << 20;  // each request carries 8 MiB/s: the job's share here
  Open(1024, {.threads = 4}, kBigPage);
  const ufs::FileStatus a = Write("a.bin", 4 << 20, 1);
  const ufs::FileStatus b = Write("b.bin", 4 << 20, 2);

  const auto start = std::chrono::steady_clock::now();
  std::vector<ItemResult> ra;
  std::vector<ItemResult> rb;
  {
    std::jthread t1([&] {
      ra = executor_->Run({.job_id = "job", .items = {Whole(a)}, .bandwidth = kRate}, {});
    });
    std::jthread t2([&] {
      rb = executor_->Run({.job_id = "job", .items = {Whole(b)}, .bandwidth = kRate}, {});
    });
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  ASSERT_TRUE(ra[0].status.ok()) << ra[0].status;
  ASSERT_TRUE(rb[0].status.ok()) << rb[0].status;
  // 8 MiB through one 8 MiB/s bucket whose burst is 0.8 MiB: at least 0.9 s. Two separate buckets
  // would have taken about 0.4 s.
  EXPECT_GE(seconds, 0.85) << "8 MiB at a shared 8 MiB/s took " << seconds << " s";
}

}  // namespace
}  // namespace alluvium::worker
