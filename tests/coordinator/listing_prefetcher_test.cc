#include "coordinator/scheduler/listing_prefetcher.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace alluvium::coordinator {
namespace {

using namespace std::chrono_literals;

// An in-memory listing in URI order, optionally starting after a URI and failing at an index.
class VectorSource final : public EntrySource {
 public:
  VectorSource(std::vector<ufs::FileStatus> entries, const std::string& after = "",
               size_t fail_at = SIZE_MAX, std::atomic<int>* reads = nullptr)
      : entries_(std::move(entries)), fail_at_(fail_at), reads_(reads) {
    while (next_ < entries_.size() && !after.empty() && entries_[next_].uri <= after) ++next_;
  }

  Result<std::optional<ufs::FileStatus>> Next() override {
    if (reads_ != nullptr) ++*reads_;
    if (next_ == fail_at_) return Unavailable("listing page failed");
    if (next_ == entries_.size()) return std::optional<ufs::FileStatus>();
    return std::optional<ufs::FileStatus>(entries_[next_++]);
  }

 private:
  std::vector<ufs::FileStatus> entries_;
  size_t next_ = 0;
  size_t fail_at_;
  std::atomic<int>* reads_;
};

std::vector<ufs::FileStatus> Files(int n) {
  std::vector<ufs::FileStatus> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({.uri = fmt::format("s3://b/f{:04d}", i), .length = 10u + i, .version = "v"});
  }
  return out;
}

uint64_t SumOfLengths(int n) {
  uint64_t sum = 0;
  for (int i = 0; i < n; ++i) sum += 10u + i;
  return sum;
}

// Reads everything; returns the URIs in order and the final status.
std::pair<std::vector<std::string>, Status> Drain(EntrySource& source) {
  std::vector<std::string> uris;
  while (true) {
    auto entry = source.Next();
    if (!entry.ok()) return {uris, entry.status()};
    if (!*entry) return {uris, OkStatus()};
    uris.push_back((*entry)->uri);
  }
}

std::vector<std::string> UrisOf(const std::vector<ufs::FileStatus>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.uri);
  return out;
}

struct Listed {
  std::atomic<int> calls{0};
  std::atomic<uint64_t> files{0}, bytes{0};
  auto Callback() {
    return [this](uint64_t f, uint64_t b) {
      files = f;
      bytes = b;
      ++calls;
    };
  }
};

TEST(ListingPrefetcherTest, ListingThatFitsIsReadOnceAndSized) {
  std::atomic<int> reads{0};
  Listed listed;
  ListingPrefetcher prefetcher(std::make_unique<VectorSource>(Files(50), "", SIZE_MAX, &reads),
                               {.capacity = 100, .on_listed = listed.Callback()});
  auto [uris, status] = Drain(prefetcher);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(uris, UrisOf(Files(50)));
  EXPECT_EQ(reads, 51);  // every entry and the end, once
  EXPECT_EQ(listed.calls, 1);
  EXPECT_EQ(listed.files, 50u);
  EXPECT_EQ(listed.bytes, SumOfLengths(50));
}

TEST(ListingPrefetcherTest, SizeIsKnownBeforeTheLoadReadsTheEntries) {
  Listed listed;
  ListingPrefetcher prefetcher(std::make_unique<VectorSource>(Files(20)),
                               {.capacity = 100, .on_listed = listed.Callback()});
  auto first = prefetcher.Next();
  ASSERT_TRUE(first.ok() && *first);
  // Nothing more is read by the consumer, yet the listing ends and reports the size.
  for (int i = 0; i < 200 && listed.calls == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(listed.calls, 1);
  EXPECT_EQ(listed.bytes, SumOfLengths(20));
}

TEST(ListingPrefetcherTest, PastTheBoundCountsOnAndRelistsOnlyTheRest) {
  Listed listed;
  std::vector<std::string> reopened_after;
  std::atomic<int> reopened_reads{0};
  ListingPrefetcher prefetcher(
      std::make_unique<VectorSource>(Files(1000)),
      {.capacity = 10,
       .reopen_after = [&](const std::string& after) -> Result<std::unique_ptr<EntrySource>> {
         reopened_after.push_back(after);
         return std::unique_ptr<EntrySource>(
             std::make_unique<VectorSource>(Files(1000), after, SIZE_MAX, &reopened_reads));
       },
       .on_listed = listed.Callback()});
  // Let the prefetcher fill the queue and count to the end before anything is consumed.
  for (int i = 0; i < 200 && listed.calls == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(listed.calls, 1);
  EXPECT_EQ(listed.files, 1000u);
  EXPECT_EQ(listed.bytes, SumOfLengths(1000));
  auto [uris, status] = Drain(prefetcher);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(uris, UrisOf(Files(1000)));  // in order, none lost, none twice
  ASSERT_EQ(reopened_after.size(), 1u);
  EXPECT_EQ(reopened_after[0], "s3://b/f0009");  // after the last queued entry
  EXPECT_EQ(reopened_reads, 991);                // only the part past the bound, and its end
}

TEST(ListingPrefetcherTest, WithoutReopenItWaitsForRoomAndSizesAtTheEnd) {
  Listed listed;
  ListingPrefetcher prefetcher(std::make_unique<VectorSource>(Files(300)),
                               {.capacity = 7, .on_listed = listed.Callback()});
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(listed.calls, 0) << "the prefetcher must wait for room, not read ahead unbounded";
  auto [uris, status] = Drain(prefetcher);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(uris, UrisOf(Files(300)));
  for (int i = 0; i < 200 && listed.calls == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(listed.files, 300u);
}

TEST(ListingPrefetcherTest, FailureComesAfterTheEntriesListedBeforeIt) {
  Listed listed;
  ListingPrefetcher prefetcher(std::make_unique<VectorSource>(Files(30), "", 17),
                               {.capacity = 100, .on_listed = listed.Callback()});
  auto [uris, status] = Drain(prefetcher);
  EXPECT_EQ(status.code(), Code::kUnavailable) << status;
  EXPECT_EQ(uris.size(), 17u);
  EXPECT_EQ(listed.calls, 0) << "a failed listing has no size";
}

TEST(ListingPrefetcherTest, FailurePastTheBoundReachesTheLoadThroughTheReopenedListing) {
  Listed listed;
  ListingPrefetcher prefetcher(
      std::make_unique<VectorSource>(Files(100), "", 60),
      {.capacity = 5,
       .reopen_after = [&](const std::string& after) -> Result<std::unique_ptr<EntrySource>> {
         return std::unique_ptr<EntrySource>(std::make_unique<VectorSource>(Files(100), after, 60));
       },
       .on_listed = listed.Callback()});
  auto [uris, status] = Drain(prefetcher);
  EXPECT_EQ(status.code(), Code::kUnavailable) << status;
  EXPECT_EQ(uris, UrisOf(std::vector<ufs::FileStatus>(Files(60))));
  EXPECT_EQ(listed.calls, 0);
}

TEST(ListingPrefetcherTest, ReopenFailureIsTheLoadsError) {
  ListingPrefetcher prefetcher(
      std::make_unique<VectorSource>(Files(100)),
      {.capacity = 5,
       .reopen_after = [](const std::string&) -> Result<std::unique_ptr<EntrySource>> {
         return NotFound("bucket gone");
       }});
  auto [uris, status] = Drain(prefetcher);
  // How many entries pass through the queue before it overflows depends on how fast they are
  // taken; what was taken is the listing's start, in order.
  EXPECT_GE(uris.size(), 5u);
  EXPECT_LT(uris.size(), 100u);
  auto files = UrisOf(Files(100));
  files.resize(uris.size());
  EXPECT_EQ(uris, files);
  EXPECT_EQ(status.code(), Code::kNotFound) << status;
}

TEST(ListingPrefetcherTest, DestroyedWhileWaitingForRoomDoesNotHang) {
  auto prefetcher = std::make_unique<ListingPrefetcher>(std::make_unique<VectorSource>(Files(100)),
                                                        ListingPrefetcher::Options{.capacity = 2});
  auto first = prefetcher->Next();
  ASSERT_TRUE(first.ok() && *first);
  std::this_thread::sleep_for(20ms);  // the prefetcher is now blocked on a full queue
  prefetcher.reset();                 // joins
  SUCCEED();
}

}  // namespace
}  // namespace alluvium::coordinator
