// FileReader over a fake fetch: bytes identical to the file's whatever the read pattern, windows
// only for sequential reads, memory within the bound, errors passed on and retried.
#include "fuse/file_reader.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <latch>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace alluvium::fuse {
namespace {

constexpr uint64_t kPart = 256 << 10;
constexpr ReadAheadOptions kOptions{.part_size = kPart, .max_parts = 4};

// A file in memory whose fetches are recorded; fails the next `fail` fetches with kUnavailable.
class FakeFile {
 public:
  explicit FakeFile(size_t size) : bytes_(size) {
    std::mt19937 rng(7);
    for (std::byte& b : bytes_) b = static_cast<std::byte>(rng());
  }

  FileReader::Fetch fetch() {
    return [this](uint64_t offset, std::span<std::byte> out) -> Result<size_t> {
      std::lock_guard lock(mu_);
      if (fail_ > 0) {
        --fail_;
        return Unavailable("worker down");
      }
      fetches_.push_back(out.size());
      if (offset >= bytes_.size()) return size_t{0};
      const size_t n = std::min<size_t>(out.size(), bytes_.size() - offset);
      std::memcpy(out.data(), bytes_.data() + offset, n);
      return n;
    };
  }

  // What a short-circuit read gets: the bytes before `cached_end`, fewer where it starts after.
  FileReader::Fetch read_here(uint64_t cached_end) {
    return [this, cached_end](uint64_t offset, std::span<std::byte> out) -> Result<size_t> {
      std::lock_guard lock(mu_);
      ++reads_here_;
      const uint64_t end = std::min<uint64_t>(cached_end, bytes_.size());
      if (offset >= end) return size_t{0};
      const size_t n = std::min<size_t>(out.size(), end - offset);
      std::memcpy(out.data(), bytes_.data() + offset, n);
      return n;
    };
  }

  // Reads [offset, offset + size) through `reader` and checks every byte.
  ::testing::AssertionResult ReadAndCheck(FileReader& reader, uint64_t offset, size_t size) {
    std::vector<std::byte> out(size);
    Result<size_t> n = reader.Read(offset, out);
    if (!n.ok()) return ::testing::AssertionFailure() << n.status();
    const size_t expected = offset >= bytes_.size() ? 0 : std::min(size, bytes_.size() - offset);
    if (*n != expected) {
      return ::testing::AssertionFailure()
             << "read " << *n << " of " << expected << " at " << offset;
    }
    if (*n > 0 &&
        std::memcmp(out.data(), bytes_.data() + std::min<size_t>(offset, bytes_.size()), *n) != 0) {
      return ::testing::AssertionFailure() << "wrong bytes at " << offset;
    }
    return ::testing::AssertionSuccess();
  }

  std::vector<size_t> fetches() {
    std::lock_guard lock(mu_);
    return fetches_;
  }
  int reads_here() {
    std::lock_guard lock(mu_);
    return reads_here_;
  }
  void FailNext(int n) {
    std::lock_guard lock(mu_);
    fail_ = n;
  }
  size_t size() const { return bytes_.size(); }
  std::span<const std::byte> bytes() const { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
  std::mutex mu_;
  std::vector<size_t> fetches_;  // guarded by mu_
  int fail_ = 0;                 // guarded by mu_
  int reads_here_ = 0;           // guarded by mu_
};

// A sequential reader's windows: 1 part (the first miss), then 2, 4, 4, 4 ... parts until the
// file ends (the last window only to the end).
void ExpectGrowingWindows(const std::vector<size_t>& fetches) {
  ASSERT_GE(fetches.size(), 4u);
  EXPECT_EQ(fetches[0], kPart);
  EXPECT_EQ(fetches[1], 2 * kPart);
  EXPECT_EQ(fetches[2], 4 * kPart);
  EXPECT_EQ(fetches[3], 4 * kPart);
}

TEST(FileReaderTest, SequentialReadsFetchGrowingWindowsAndGetTheFilesBytes) {
  FakeFile file(5'000'000);
  FileReader reader(file.size(), kOptions, file.fetch());
  for (uint64_t offset = 0; offset < file.size() + 10'000; offset += 128 << 10) {
    ASSERT_TRUE(file.ReadAndCheck(reader, offset, 128 << 10));
    // The window being read and the one ahead of it (or a past one kept for reuse).
    EXPECT_LE(reader.buffered_bytes(), 2 * 4 * kPart);
  }
  ExpectGrowingWindows(file.fetches());
  EXPECT_LE(file.fetches().size(), 7u);
}

TEST(FileReaderTest, ViewsOfBufferedBytesAreNotCopiedAndStayValidAfterTheWindowMoves) {
  FakeFile file(3'000'000);
  FileReader reader(file.size(), kOptions, file.fetch());
  std::vector<std::byte> scratch(128 << 10);
  std::vector<FileReader::View> views;
  for (uint64_t offset = 0; offset < file.size(); offset += scratch.size()) {
    Result<FileReader::View> view = reader.ReadView(offset, scratch);
    ASSERT_TRUE(view.ok()) << view.status();
    // Sequential reads come from read-ahead buffers, never through the scratch.
    if (view->bytes.size() == scratch.size()) {
      EXPECT_NE(view->bytes.data(), scratch.data()) << offset;
      EXPECT_NE(view->owner, nullptr);
    }
    views.push_back(std::move(*view));
  }
  // Windows moved on many times since; every view still shows the bytes it was given.
  std::vector<std::byte> whole(file.size());
  ASSERT_TRUE(file.fetch()(0, whole).ok());
  uint64_t offset = 0;
  for (const FileReader::View& v : views) {
    if (v.bytes.empty()) continue;
    EXPECT_EQ(std::memcmp(v.bytes.data(), whole.data() + offset, v.bytes.size()), 0) << offset;
    offset += v.bytes.size();
  }
  EXPECT_EQ(offset, file.size());
}

// As the FUSE adapter reads: a view, then ReadAhead when it is due. Once the reader is
// sequential, each window is fetched by ReadAhead before the reader reaches it, never by a read.
TEST(FileReaderTest, ASequentialReaderFindsEachNextWindowFetchedAhead) {
  FakeFile file(5'000'000);
  FileReader reader(file.size(), kOptions, file.fetch());
  std::vector<std::byte> scratch(128 << 10);
  int read_ahead_calls = 0;
  for (uint64_t offset = 0; offset < file.size(); offset += scratch.size()) {
    const size_t fetches_before = file.fetches().size();
    Result<FileReader::View> view = reader.ReadView(offset, scratch);
    ASSERT_TRUE(view.ok()) << view.status();
    ASSERT_FALSE(view->bytes.empty());
    if (offset > 0) {
      EXPECT_EQ(file.fetches().size(), fetches_before) << "a read fetched at " << offset;
      EXPECT_NE(view->owner, nullptr) << offset;
    }
    EXPECT_EQ(std::memcmp(view->bytes.data(), file.bytes().data() + offset, view->bytes.size()), 0)
        << offset;
    const bool due = view->read_ahead_due;
    *view = FileReader::View{};
    if (due) {
      reader.ReadAhead();
      ++read_ahead_calls;
    }
    // The window being read and the one ahead of it.
    EXPECT_LE(reader.buffered_bytes(), 2 * 4 * kPart);
  }
  EXPECT_GE(read_ahead_calls, 4);
  ExpectGrowingWindows(file.fetches());
}

TEST(FileReaderTest, ReadAheadFetchesNothingForARandomReaderOrPastTheEnd) {
  FakeFile file(2'000'000);
  FileReader reader(file.size(), kOptions, file.fetch());
  ASSERT_TRUE(file.ReadAndCheck(reader, 0, 4096));        // a window of 1 part
  ASSERT_TRUE(file.ReadAndCheck(reader, 900'000, 4096));  // random: the window is dropped
  const size_t fetches = file.fetches().size();
  reader.ReadAhead();
  EXPECT_EQ(file.fetches().size(), fetches);

  FakeFile small(100'000);
  FileReader small_reader(small.size(), kOptions, small.fetch());
  ASSERT_TRUE(small.ReadAndCheck(small_reader, 0, 4096));  // the window holds the whole file
  small_reader.ReadAhead();
  EXPECT_EQ(small.fetches(), std::vector<size_t>{100'000});
}

// Pages cached on this host are read straight into the caller's memory: no window, no copy
// through a buffer. Where they end, the reader fetches windows as before.
TEST(FileReaderTest, ReadsServedWhollyHereNeedNoWindow) {
  FakeFile file(3'000'000);
  constexpr uint64_t kCachedEnd = 1'000'000;
  FileReader reader(file.size(), kOptions, file.fetch(), file.read_here(kCachedEnd));
  std::vector<std::byte> scratch(128 << 10);
  uint64_t offset = 0;
  for (; offset + scratch.size() <= kCachedEnd; offset += scratch.size()) {
    Result<FileReader::View> view = reader.ReadView(offset, scratch);
    ASSERT_TRUE(view.ok()) << view.status();
    EXPECT_EQ(view->bytes.data(), scratch.data());
    EXPECT_EQ(view->bytes.size(), scratch.size());
    EXPECT_FALSE(view->read_ahead_due);
  }
  EXPECT_TRUE(file.fetches().empty());
  EXPECT_EQ(reader.buffered_bytes(), 0u);
  for (; offset < file.size(); offset += scratch.size()) {
    ASSERT_TRUE(file.ReadAndCheck(reader, offset, scratch.size()));
  }
  EXPECT_FALSE(file.fetches().empty());
  EXPECT_LT(file.fetches().size(), (file.size() - kCachedEnd) / scratch.size());
  // The reads at the end of the file, served wholly here although short, need nothing else.
  FakeFile cached(300'000);
  FileReader cached_reader(cached.size(), kOptions, cached.fetch(), cached.read_here(300'000));
  EXPECT_TRUE(cached.ReadAndCheck(cached_reader, 200'000, 200'000));
  EXPECT_TRUE(cached.fetches().empty());
  EXPECT_EQ(cached.reads_here(), 1);
}

TEST(FileReaderTest, RandomReadsFetchOnlyWhatTheyAsk) {
  FakeFile file(8'000'000);
  FileReader reader(file.size(), kOptions, file.fetch());
  std::mt19937 rng(3);
  for (int i = 0; i < 200; ++i) {
    const uint64_t offset = (rng() % (file.size() / 4096)) * 4096 + 4096;  // never offset 0
    ASSERT_TRUE(file.ReadAndCheck(reader, offset, 4096));
  }
  for (const size_t f : file.fetches()) EXPECT_EQ(f, 4096u);
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(FileReaderTest, ReadsAtAndPastTheEndAreShortOrEmpty) {
  FakeFile file(300'000);
  FileReader reader(file.size(), kOptions, file.fetch());
  EXPECT_TRUE(file.ReadAndCheck(reader, 0, 100'000));  // the window is capped at the end
  EXPECT_EQ(file.fetches(), std::vector<size_t>{kPart});
  EXPECT_TRUE(file.ReadAndCheck(reader, 100'000, 250'000));  // served short from the buffer
  EXPECT_TRUE(file.ReadAndCheck(reader, 300'000, 4096));
  EXPECT_TRUE(file.ReadAndCheck(reader, 1'000'000, 4096));
  FakeFile empty(0);
  FileReader empty_reader(0, kOptions, empty.fetch());
  EXPECT_TRUE(empty.ReadAndCheck(empty_reader, 0, 4096));
}

TEST(FileReaderTest, AFailedFetchIsReturnedAndTheNextReadFetchesAgain) {
  FakeFile file(2'000'000);
  FileReader reader(file.size(), kOptions, file.fetch());
  ASSERT_TRUE(file.ReadAndCheck(reader, 0, 4096));
  file.FailNext(1);
  std::vector<std::byte> out(4096);
  EXPECT_EQ(reader.Read(kPart, out).status().code(), Code::kUnavailable);
  EXPECT_TRUE(file.ReadAndCheck(reader, kPart, 4096));
  EXPECT_TRUE(file.ReadAndCheck(reader, kPart + 4096, 100'000));
}

TEST(FileReaderTest, NoPartsReadsEverythingAsAsked) {
  FakeFile file(1'000'000);
  FileReader reader(file.size(), {.part_size = kPart, .max_parts = 0}, file.fetch());
  for (uint64_t offset = 0; offset < file.size(); offset += 64 << 10) {
    ASSERT_TRUE(file.ReadAndCheck(reader, offset, 64 << 10));
  }
  for (const size_t f : file.fetches()) EXPECT_EQ(f, size_t{64 << 10});
}

// As the kernel sends them: several threads take the next chunk of one sequential stream, so
// reads arrive side by side and out of order; every byte is right and the memory bounded.
TEST(FileReaderTest, ConcurrentReadsOfOneFileGetTheFilesBytesWithinTheBound) {
  FakeFile file(20'000'000);
  FileReader reader(file.size(), kOptions, file.fetch());
  constexpr uint64_t kChunk = 128 << 10;
  std::atomic<uint64_t> next{0};
  std::atomic<int> wrong{0};
  std::atomic<uint64_t> most_buffered{0};
  std::latch start(8);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        for (uint64_t o = next.fetch_add(kChunk); o < file.size(); o = next.fetch_add(kChunk)) {
          if (!file.ReadAndCheck(reader, o, kChunk)) ++wrong;
          const uint64_t b = reader.buffered_bytes();
          uint64_t seen = most_buffered.load();
          while (b > seen && !most_buffered.compare_exchange_weak(seen, b)) {
          }
        }
      });
    }
  }
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(most_buffered.load(), 2 * 4 * kPart);
  // Read ahead, not chunk by chunk (fewer fetches than chunks).
  EXPECT_LT(file.fetches().size(), file.size() / kChunk);
}

}  // namespace
}  // namespace alluvium::fuse
