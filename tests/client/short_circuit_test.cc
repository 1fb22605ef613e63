// Short-circuit reads between a worker's ShortCircuitServer and a client's ShortCircuitChannel,
// in one process over a real Unix socket, on a real page store.
#include "client/short_circuit.h"

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/metrics.h"

#include "common/cache_filter.h"
#include "pagestore/page_record.h"
#include "pagestore/page_store.h"
#include "testing/eventually.h"
#include "testing/scoped_temp_dir.h"
#include "worker/short_circuit_server.h"

namespace alluvium::client {
namespace {

using ::alluvium::testing::Eventually;
using ::alluvium::testing::ScopedTempDir;
using namespace std::chrono_literals;

constexpr uint64_t kPage = 4096;
constexpr std::string_view kUri = "file:///data/x";
constexpr uint64_t kRegion = pagestore::kRegionHeaderSize + 4 * pagestore::RecordSpan(kPage);

std::vector<std::byte> Bytes(uint64_t seed, size_t n) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((seed * 31 + i * 7) & 0xff);
  return v;
}

class ShortCircuitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = pagestore::PageStore::Open({.page_size = kPage,
                                             .dirs = {dir_.path() / "store"},
                                             .capacity_bytes = 3 * kRegion,
                                             .region_size = kRegion});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto policy = CacheFilterPolicy::Parse(
        R"({"apiVersion": 1, "data": {"skipCache": ["file:///skip/.*"]}})");
    ASSERT_TRUE(policy.ok()) << policy.status();
    filter_ = std::make_unique<CacheFilter>(std::move(*policy));
    auto server = worker::ShortCircuitServer::Listen(socket_, "worker-a", *store_, *filter_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    server_->Start();
  }

  // A file of `pages` pages (the last `last` bytes long), cached.
  pagestore::FileId CacheFile(std::string_view uri, uint64_t pages, uint64_t last = kPage) {
    const pagestore::FileId id = pagestore::FileIdOf(uri, "v1");
    for (uint64_t p = 0; p < pages; ++p) {
      const auto data = Bytes(id.lo + p, p + 1 == pages ? last : kPage);
      EXPECT_TRUE(store_->Put({id, p}, data).ok());
    }
    return id;
  }

  std::vector<std::byte> Expected(const pagestore::FileId& id, uint64_t pages, uint64_t last) {
    std::vector<std::byte> out;
    for (uint64_t p = 0; p < pages; ++p) {
      const auto data = Bytes(id.lo + p, p + 1 == pages ? last : kPage);
      out.insert(out.end(), data.begin(), data.end());
    }
    return out;
  }

  std::unique_ptr<ShortCircuitChannel> Channel() {
    auto channel = ShortCircuitChannel::Connect(socket_, "worker-a");
    EXPECT_TRUE(channel.ok()) << channel.status();
    return channel.ok() ? std::move(*channel) : nullptr;
  }

  ScopedTempDir dir_;
  const std::string socket_ = (dir_.path() / "sc.sock").string();
  std::unique_ptr<pagestore::PageStore> store_;
  std::unique_ptr<CacheFilter> filter_;
  std::unique_ptr<worker::ShortCircuitServer> server_;
};

TEST_F(ShortCircuitTest, ReadsCachedPagesByteForByte) {
  const auto id = CacheFile("file:///a", 3, 1000);
  const auto want = Expected(id, 3, 1000);
  auto channel = Channel();
  ASSERT_NE(channel, nullptr);
  EXPECT_EQ(channel->page_size(), kPage);

  std::vector<std::byte> got;
  auto n = channel->Read(kUri, id, 0, want.size(), [&](std::span<const std::byte> d) {
    got.insert(got.end(), d.begin(), d.end());
    return OkStatus();
  });
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, want.size());
  EXPECT_EQ(got, want);

  got.clear();  // a range inside two pages
  n = channel->Read(kUri, id, 4000, 5000, [&](std::span<const std::byte> d) {
    got.insert(got.end(), d.begin(), d.end());
    return OkStatus();
  });
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 1000u);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin() + 4000));
}

TEST_F(ShortCircuitTest, StopsAtTheFirstPageNotCached) {
  const auto id = CacheFile("file:///b", 3);
  ASSERT_TRUE(store_->Delete({id, 1}).ok());
  auto channel = Channel();
  uint64_t delivered = 0;
  auto n = channel->Read(kUri, id, 100, 3 * kPage, [&](std::span<const std::byte> d) {
    delivered += d.size();
    return OkStatus();
  });
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, kPage - 100) << "page 0 only; the caller reads the rest through gRPC";
  EXPECT_EQ(delivered, *n);
}

// The worker's cache filter decides: data it does not hold immutable is read through it.
TEST_F(ShortCircuitTest, PagesOfASkipCacheFileAreNotHandedOut) {
  const auto id = CacheFile("file:///skip/y", 2);
  auto channel = Channel();
  auto n = channel->Read("file:///skip/y", id, 0, 2 * kPage, [](auto) { return OkStatus(); });
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 0u);
}

// What a client does with a listing: one request for the first pages of many files; reading
// them afterwards needs no worker at all (here: none is left).
TEST_F(ShortCircuitTest, FirstPagesLocatedTogetherAreReadWithoutAskingAgain) {
  std::vector<pagestore::FileId> ids;
  std::vector<std::string> uris;
  for (int f = 0; f < 90; ++f) {  // about what the three regions hold
    uris.push_back(fmt::format("file:///data/small/{}", f));
    ids.push_back(CacheFile(uris.back(), 1, 100 + f));
  }
  auto channel = Channel();
  std::vector<ShortCircuitChannel::FileToLocate> files;
  for (int f = 0; f < 90; ++f) files.push_back({.uri = uris[f], .file = ids[f]});
  ASSERT_TRUE(channel->LocateFirstPages(files).ok());
  const int64_t located = metrics::ValueOf("alluvium_worker_short_circuit_pages_total");
  for (int f = 0; f < 90; ++f) {
    std::vector<std::byte> got;
    auto n = channel->Read(uris[f], ids[f], 0, 100 + f, [&](std::span<const std::byte> d) {
      got.insert(got.end(), d.begin(), d.end());
      return OkStatus();
    });
    ASSERT_TRUE(n.ok()) << f << ": " << n.status();
    EXPECT_EQ(got, Expected(ids[f], 1, 100 + f)) << f;
  }
  // Nothing more was asked of the worker.
  EXPECT_EQ(metrics::ValueOf("alluvium_worker_short_circuit_pages_total"), located);
}

TEST_F(ShortCircuitTest, AnotherWorkersSocketIsRefused) {
  auto channel = ShortCircuitChannel::Connect(socket_, "worker-b");
  EXPECT_EQ(channel.status().code(), Code::kUnavailable);
  auto nobody = ShortCircuitChannel::Connect((dir_.path() / "nothing.sock").string(), "worker-a");
  EXPECT_EQ(nobody.status().code(), Code::kUnavailable);
}

TEST_F(ShortCircuitTest, SinkErrorStopsTheRead) {
  const auto id = CacheFile("file:///c", 2);
  auto channel = Channel();
  auto n = channel->Read(kUri, id, 0, 2 * kPage, [](auto) { return Cancelled("reader gone"); });
  EXPECT_EQ(n.status().code(), Code::kCancelled);
}

TEST_F(ShortCircuitTest, ServerStoppedUnderAChannelIsUnavailable) {
  const auto id = CacheFile("file:///d", 1);
  auto channel = Channel();
  server_->Stop();
  auto n = channel->Read(kUri, id, 0, kPage, [](auto) { return OkStatus(); });
  EXPECT_EQ(n.status().code(), Code::kUnavailable) << n.status();
}

// A channel remembers extents, so a read of pages it has seen asks the worker nothing. Once the
// worker is gone (a restart may wipe the files our descriptors keep alive) the channel serves
// nothing more from memory, and says it is broken.
TEST_F(ShortCircuitTest, RememberedExtentsAreNotReadOnceTheWorkerHasHungUp) {
  const auto id = CacheFile("file:///e", 2);
  auto channel = Channel();
  uint64_t got = 0;
  auto first = channel->Read(kUri, id, 0, 2 * kPage, [&](std::span<const std::byte> d) {
    got += d.size();
    return OkStatus();
  });
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(got, 2 * kPage);
  EXPECT_FALSE(channel->broken());

  server_->Stop();
  // The hang-up is looked for at most every 100 ms, so reads may go on that long (from pages
  // that still verify), never longer.
  const auto stopped = std::chrono::steady_clock::now();
  Status last;
  ASSERT_TRUE(Eventually(
      [&] {
        last = channel->Read(kUri, id, 0, 2 * kPage, [](auto) { return OkStatus(); }).status();
        return !last.ok();
      },
      5s));
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, 2s);
  EXPECT_EQ(last.code(), Code::kUnavailable) << last;
  EXPECT_TRUE(channel->broken());
}

// Writers keep evicting and reusing the three regions while readers read through the channel:
// every byte a reader is given must be the right one; pages evicted under it are cut short.
TEST_F(ShortCircuitTest, EvictionUnderReadersNeverYieldsWrongBytes) {
  constexpr uint64_t kFiles = 24;
  std::vector<pagestore::FileId> ids;
  for (uint64_t f = 0; f < kFiles; ++f)
    ids.push_back(pagestore::FileIdOf(fmt::format("file:///e{}", f), "v1"));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0}, short_reads{0}, wrong{0};
  std::vector<std::jthread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      while (!stop.load()) {
        const auto& id = ids[rng() % kFiles];
        const uint64_t p = rng() % 2;
        (void)store_->Put({id, p}, Bytes(id.lo + p, kPage));
      }
    });
  }
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      auto channel = Channel();
      if (!channel) return;
      std::mt19937_64 rng(100 + t);
      while (!stop.load()) {
        const auto& id = ids[rng() % kFiles];
        const auto want = Expected(id, 2, kPage);
        uint64_t at = 0;
        auto n = channel->Read(kUri, id, 0, 2 * kPage, [&](std::span<const std::byte> d) {
          if (!std::equal(d.begin(), d.end(), want.begin() + static_cast<std::ptrdiff_t>(at))) {
            ++wrong;
          }
          at += d.size();
          return OkStatus();
        });
        if (!n.ok()) {
          ADD_FAILURE() << n.status();
          return;
        }
        ++reads;
        if (*n < 2 * kPage) ++short_reads;
      }
    });
  }
  EXPECT_TRUE(
      Eventually([&] { return store_->stats().evictions > 2000 && reads.load() > 2000; }, 60s));
  stop = true;
  threads.clear();
  EXPECT_EQ(wrong.load(), 0u);
  std::printf("short-circuit readers: %llu reads, %llu cut short by eviction, %llu evictions\n",
              static_cast<unsigned long long>(reads.load()),
              static_cast<unsigned long long>(short_reads.load()),
              static_cast<unsigned long long>(store_->stats().evictions));
}

}  // namespace
}  // namespace alluvium::client
