#include "metastore/meta_store.h"

#include <atomic>
#include <chrono>
#include <fstream>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "testing/scoped_temp_dir.h"
#include "testing/scoped_tmpfs.h"

namespace alluvium::metastore {
namespace {

using ::alluvium::testing::ScopedTempDir;
using ::alluvium::testing::ScopedTmpfs;

ufs::FileStatus FileAt(std::string uri, uint64_t length = 10) {
  return {.uri = std::move(uri),
          .is_directory = false,
          .length = length,
          .mtime_ms = 1'700'000'000'000,
          .version = "1700000000000000000-10-1"};
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class MetaStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    store_.reset();  // RocksDB locks the directory: close before opening again
    Result<std::unique_ptr<MetaStore>> store = MetaStore::Open(Dir());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
  }

  std::filesystem::path Dir() const { return dir_.path() / "meta"; }

  Code GetCode(std::string_view uri) const { return store_->Get(uri).status().code(); }

  ScopedTempDir dir_;
  std::unique_ptr<MetaStore> store_;
};

TEST_F(MetaStoreTest, PutThenGetReturnsStatusAndCacheTime) {
  const ufs::FileStatus status = FileAt("file:///d/f");
  const int64_t before = NowMs();
  ASSERT_TRUE(store_->Put(status).ok());
  const int64_t after = NowMs();

  Result<CachedStatus> cached = store_->Get("file:///d/f");
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_EQ(cached->status, status);
  EXPECT_GE(cached->cached_at_ms, before);
  EXPECT_LE(cached->cached_at_ms, after);
}

TEST_F(MetaStoreTest, GetMissingIsNotFound) {
  Result<CachedStatus> cached = store_->Get("file:///nothing");
  EXPECT_EQ(cached.status().code(), Code::kNotFound);
  EXPECT_EQ(cached.status().message(), "no cached status for 'file:///nothing'");
}

TEST_F(MetaStoreTest, PutReplaces) {
  ASSERT_TRUE(store_->Put(FileAt("s3://b/k", 1)).ok());
  ASSERT_TRUE(store_->Put(FileAt("s3://b/k", 2)).ok());
  Result<CachedStatus> cached = store_->Get("s3://b/k");
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_EQ(cached->status.length, 2u);
}

TEST_F(MetaStoreTest, PutRejectsEmptyUri) {
  EXPECT_EQ(store_->Put(FileAt("")).code(), Code::kInvalidArgument);
}

TEST_F(MetaStoreTest, DeleteRemovesOnlyThatEntry) {
  ASSERT_TRUE(store_->Put(FileAt("file:///a")).ok());
  ASSERT_TRUE(store_->Put(FileAt("file:///b")).ok());
  ASSERT_TRUE(store_->Delete("file:///a").ok());
  EXPECT_EQ(GetCode("file:///a"), Code::kNotFound);
  EXPECT_EQ(GetCode("file:///b"), Code::kOk);
  EXPECT_TRUE(store_->Delete("file:///never").ok());
}

TEST_F(MetaStoreTest, DeletePrefixDropsExactlyTheKeysStartingWithIt) {
  for (const char* uri : {"file:///d", "file:///d/a", "file:///d/sub/b", "file:///dx",
                          "file:///d.txt", "file:///c", "file:///e"}) {
    ASSERT_TRUE(store_->Put(FileAt(uri)).ok()) << uri;
  }
  ASSERT_TRUE(store_->DeletePrefix("file:///d/").ok());
  for (const char* gone : {"file:///d/a", "file:///d/sub/b"}) {
    EXPECT_EQ(GetCode(gone), Code::kNotFound) << gone;
  }
  for (const char* kept : {"file:///d", "file:///dx", "file:///d.txt", "file:///c", "file:///e"}) {
    EXPECT_EQ(GetCode(kept), Code::kOk) << kept;
  }
}

TEST_F(MetaStoreTest, DeletePrefixWithoutUpperBound) {
  // A prefix ending in 0xff bytes has no successor string to bound a range delete.
  const std::string prefix = "file:///\xff\xff";
  ASSERT_TRUE(store_->Put(FileAt(prefix)).ok());
  ASSERT_TRUE(store_->Put(FileAt(prefix + "\xff/x")).ok());
  ASSERT_TRUE(store_->Put(FileAt("file:///\xfe")).ok());
  ASSERT_TRUE(store_->DeletePrefix(prefix).ok());
  EXPECT_EQ(GetCode(prefix), Code::kNotFound);
  EXPECT_EQ(GetCode(prefix + "\xff/x"), Code::kNotFound);
  EXPECT_EQ(GetCode("file:///\xfe"), Code::kOk);
}

TEST_F(MetaStoreTest, DeletePrefixRejectsEmptyPrefix) {
  EXPECT_EQ(store_->DeletePrefix("").code(), Code::kInvalidArgument);
}

TEST_F(MetaStoreTest, EntriesSurviveReopen) {
  const ufs::FileStatus status = FileAt("file:///persist");
  ASSERT_TRUE(store_->Put(status).ok());
  ASSERT_TRUE(store_->Put(FileAt("file:///deleted")).ok());
  ASSERT_TRUE(store_->Delete("file:///deleted").ok());
  ASSERT_TRUE(store_->Put(FileAt("file:///p/x")).ok());
  ASSERT_TRUE(store_->DeletePrefix("file:///p/").ok());
  Reopen();
  Result<CachedStatus> cached = store_->Get("file:///persist");
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_EQ(cached->status, status);
  EXPECT_EQ(GetCode("file:///deleted"), Code::kNotFound);
  EXPECT_EQ(GetCode("file:///p/x"), Code::kNotFound);
}

TEST_F(MetaStoreTest, GarbageValueIsDataLoss) {
  store_.reset();
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), Dir().string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "file:///garbage", "not a status").ok());
  }
  Reopen();
  Result<CachedStatus> cached = store_->Get("file:///garbage");
  EXPECT_EQ(cached.status().code(), Code::kDataLoss);
  EXPECT_NE(cached.status().message().find("file:///garbage"), std::string::npos);
  // The way out: delete it and cache afresh.
  ASSERT_TRUE(store_->Delete("file:///garbage").ok());
  ASSERT_TRUE(store_->Put(FileAt("file:///garbage")).ok());
  EXPECT_EQ(GetCode("file:///garbage"), Code::kOk);
}

TEST_F(MetaStoreTest, CorruptDatabaseIsDataLossNamingTheDirectory) {
  ASSERT_TRUE(store_->Put(FileAt("file:///x")).ok());
  store_.reset();
  {
    std::ofstream current(Dir() / "CURRENT", std::ios::trunc);
    current << "garbage";  // no MANIFEST named, no final newline
  }
  Result<std::unique_ptr<MetaStore>> store = MetaStore::Open(Dir());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kDataLoss) << store.status();
  EXPECT_NE(store.status().message().find(Dir().string()), std::string::npos) << store.status();
}

TEST_F(MetaStoreTest, MissingManifestIsDataLoss) {
  ASSERT_TRUE(store_->Put(FileAt("file:///x")).ok());
  store_.reset();
  for (const auto& entry : std::filesystem::directory_iterator(Dir())) {
    if (entry.path().filename().string().starts_with("MANIFEST")) {
      std::filesystem::remove(entry.path());
    }
  }
  Result<std::unique_ptr<MetaStore>> store = MetaStore::Open(Dir());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kDataLoss) << store.status();
}

TEST_F(MetaStoreTest, OpenOrResetStartsEmptyOnACorruptDatabase) {
  ASSERT_TRUE(store_->Put(FileAt("file:///x")).ok());
  store_.reset();
  {
    std::ofstream current(Dir() / "CURRENT", std::ios::trunc);
    current << "garbage";
  }
  Result<std::unique_ptr<MetaStore>> store = MetaStore::OpenOrReset(Dir());
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->Get("file:///x").status().code(), Code::kNotFound);
  ASSERT_TRUE((*store)->Put(FileAt("file:///y")).ok());
  store->reset();
  Reopen();  // and it is a normal database again
  EXPECT_EQ(GetCode("file:///y"), Code::kOk);
}

TEST_F(MetaStoreTest, OpenOrResetKeepsAHealthyDatabase) {
  ASSERT_TRUE(store_->Put(FileAt("file:///x")).ok());
  store_.reset();
  Result<std::unique_ptr<MetaStore>> store = MetaStore::OpenOrReset(Dir());
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->Get("file:///x").status().code(), Code::kOk);
}

TEST_F(MetaStoreTest, OpenOrResetDoesNotWipeADatabaseInUse) {
  ASSERT_TRUE(store_->Put(FileAt("file:///x")).ok());
  Result<std::unique_ptr<MetaStore>> second = MetaStore::OpenOrReset(Dir());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().code(), Code::kDataLoss) << second.status();
  EXPECT_EQ(GetCode("file:///x"), Code::kOk);
}

TEST_F(MetaStoreTest, ConcurrentPutsAndGetsAllLand) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::latch start(kThreads);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        for (int i = 0; i < kPerThread; ++i) {
          const std::string uri = "file:///t" + std::to_string(t) + "/" + std::to_string(i);
          EXPECT_TRUE(store_->Put(FileAt(uri, i)).ok());
          EXPECT_TRUE(store_->Get(uri).ok());
          if (i % 10 == 0) {
            EXPECT_TRUE(store_->DeletePrefix("file:///none/").ok());
          }
        }
      });
    }
  }
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      Result<CachedStatus> cached =
          store_->Get("file:///t" + std::to_string(t) + "/" + std::to_string(i));
      ASSERT_TRUE(cached.ok()) << cached.status();
      EXPECT_EQ(cached->status.length, static_cast<uint64_t>(i));
    }
  }
}

// The metadata store on a real small disk (a 2 MiB tmpfs; needs root, as in CI) that fills up:
// writes fail with an error and the process lives on; once space is back, writes work again.
class MetaStoreFullDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!disk_.mounted()) GTEST_SKIP() << disk_.skip_reason();
    auto store = MetaStore::Open(disk_.path() / "meta");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  void TearDown() override { store_.reset(); }

  static ufs::FileStatus Big(int i) {
    return FileAt(fmt::format("file:///full/{:0>1000}", i));  // ~1 KiB per entry
  }

  ScopedTmpfs disk_{2 << 20};
  std::unique_ptr<MetaStore> store_;
};

TEST_F(MetaStoreFullDiskTest, WritesOnAFullDiskFailCleanlyAndWorkAgainOnceFreed) {
  ASSERT_TRUE(store_->Put(Big(0)).ok());
  disk_.Fill();
  // Concurrent writers, as the worker's load threads are: ~3 MiB of WAL, more than fits.
  std::atomic<int> failed{0};
  {
    std::vector<std::jthread> writers;
    for (int t = 0; t < 8; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 1; i <= 400; ++i) failed += store_->Put(Big(t * 1000 + i)).ok() ? 0 : 1;
      });
    }
  }
  EXPECT_GT(failed.load(), 0) << "the disk should have filled up";
  const Code get = store_->Get(Big(0).uri).status().code();
  EXPECT_TRUE(get == Code::kOk || get == Code::kUnavailable) << static_cast<int>(get);

  disk_.Unfill();
  Status last = Unavailable("not tried");
  for (int i = 0; i < 200 && !last.ok(); ++i) {
    last = store_->Put(Big(10000 + i));
    if (!last.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(last.ok()) << last;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(store_->Put(Big(20000 + i)).ok()) << i;
  EXPECT_EQ(store_->Get(Big(20099).uri).status().code(), Code::kOk);
  EXPECT_EQ(store_->Get(Big(0).uri).status().code(), Code::kOk) << "written before the disk filled";
}

}  // namespace
}  // namespace alluvium::metastore
