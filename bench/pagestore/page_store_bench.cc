// Page store throughput against plain files holding the same bytes, in one run: warm-up first,
// then alternating rounds; prints best and median of each and the ratio (plain / store, so
// below 1 means the store is slower). Everything runs in the page cache after a sync, so this
// measures the store's own costs (checksums, record headers, region files, index), not the
// disk. Directory: $ALLUVIUM_BENCH_DIR, or /tmp.
//
//   page_store_bench [rounds [big|small|reindex]]     (default: 5 rounds, every case)

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/logging.h"
#include "common/scoped_fd.h"
#include "pagestore/page_store.h"

namespace alluvium::pagestore {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Flushes the bench's filesystem (only), so writeback from the last run does not compete.
void SyncFs(const fs::path& dir) {
  ScopedFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.valid()) ::syncfs(fd.get());
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "page_store_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const Status& s, std::string_view what) {
  if (!s.ok()) Die(fmt::format("{}: {}", what, s.ToString()));
}

void WriteAll(int fd, const std::byte* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w <= 0) Die(fmt::format("write: {}", std::strerror(errno)));
    p += w, n -= static_cast<size_t>(w);
  }
}

void PreadAll(int fd, std::byte* p, size_t n, off_t off) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, n, off);
    if (r <= 0) Die(fmt::format("pread: {}", std::strerror(errno)));
    p += r, n -= static_cast<size_t>(r), off += r;
  }
}

ScopedFd OpenOrDie(const std::string& path, int flags) {
  ScopedFd fd(::open(path.c_str(), flags | O_CLOEXEC, 0644));
  if (!fd.valid()) Die(fmt::format("open {}: {}", path, std::strerror(errno)));
  return fd;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

struct Side {
  std::function<void()> prepare;  // untimed, before every run
  std::function<void()> run;      // timed
};

// Keeps the run bounded on slow or busy disks: a case stops adding rounds after this long.
constexpr double kCaseBudgetSeconds = 8;

// Warm-up run of each side, then up to `rounds` alternating rounds (the order flips each round
// so neither side always runs on a cache the other just warmed).
void Compare(std::string_view label, std::string_view baseline_name, uint64_t bytes, int rounds,
             const Side& baseline, const Side& store) {
  const auto case_start = Clock::now();
  auto timed = [](const Side& side) {
    side.prepare();
    const auto start = Clock::now();
    side.run();
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  timed(baseline);
  timed(store);
  std::vector<double> base_s, store_s;
  for (int r = 0; r < rounds; ++r) {
    if (r > 0 &&
        std::chrono::duration<double>(Clock::now() - case_start).count() > kCaseBudgetSeconds) {
      break;
    }
    if (r % 2 == 0) {
      base_s.push_back(timed(baseline));
      store_s.push_back(timed(store));
    } else {
      store_s.push_back(timed(store));
      base_s.push_back(timed(baseline));
    }
  }
  const double b = *std::min_element(base_s.begin(), base_s.end());
  const double s = *std::min_element(store_s.begin(), store_s.end());
  const double gb = static_cast<double>(bytes) / 1e9;
  fmt::print(
      "{}: {} {:.3f} s ({:.2f} GB/s) | page store {:.3f} s ({:.2f} GB/s) | {:.2f}x   "
      "[best of {}; medians {:.3f} s | {:.3f} s]\n",
      label, baseline_name, b, gb / b, s, gb / s, b / s, base_s.size(), Median(base_s),
      Median(store_s));
  std::fflush(stdout);
}

PageKey Key(uint64_t i) { return {.file = FileIdOf("s3://bench/file", "v1"), .index = i}; }

std::vector<std::byte> RandomBytes(size_t n) {
  std::vector<std::byte> v(n);
  std::mt19937_64 rng(42);
  for (auto& b : v) b = static_cast<std::byte>(rng());
  return v;
}

std::unique_ptr<PageStore> OpenStoreOrDie(const fs::path& dir, uint64_t page_size,
                                          uint64_t capacity) {
  auto store = PageStore::Open({.page_size = page_size, .dirs = {dir}, .capacity_bytes = capacity});
  Check(store.status(), "open page store");
  return std::move(*store);
}

// Big pages: one plain file written sequentially vs 1 MiB pages.
void BigPages(const fs::path& root, int rounds) {
  constexpr uint64_t kPage = 1 << 20;
  constexpr uint64_t kPages = 512;
  const auto page = RandomBytes(kPage);
  const std::string plain = (root / "plain.bin").string();
  auto store = OpenStoreOrDie(root / "store", kPage, 2 * kPages * kPage);

  auto clear_plain = [&] {
    ::unlink(plain.c_str());
    SyncFs(root);
  };
  auto clear_store = [&] {
    for (uint64_t i = 0; i < kPages; ++i) Check(store->Delete(Key(i)), "delete");
    SyncFs(root);
  };
  Compare("page store put 512 MiB (1 MiB pages)", "plain write", kPages * kPage, rounds,
          {clear_plain,
           [&] {
             ScopedFd fd = OpenOrDie(plain, O_WRONLY | O_CREAT | O_TRUNC);
             for (uint64_t i = 0; i < kPages; ++i) WriteAll(fd.get(), page.data(), kPage);
             if (fd.Close() != 0) Die("close");
           }},
          {clear_store, [&] {
             for (uint64_t i = 0; i < kPages; ++i) Check(store->Put(Key(i), page), "put");
           }});

  // Both are now fully written and in the page cache.
  std::vector<std::byte> buf(kPage);
  auto nothing = [] {};
  Compare("page store read 512 MiB (whole 1 MiB pages)", "plain pread", kPages * kPage, rounds,
          {nothing,
           [&] {
             ScopedFd fd = OpenOrDie(plain, O_RDONLY);
             for (uint64_t i = 0; i < kPages; ++i) PreadAll(fd.get(), buf.data(), kPage, i * kPage);
           }},
          {nothing, [&] {
             for (uint64_t i = 0; i < kPages; ++i) {
               auto n = store->Read(Key(i), 0, buf);
               if (!n.ok() || *n != kPage) Die("read");
             }
           }});

  // Small reads: each verifies its whole page, so this is the worst case of verify-on-read.
  constexpr uint64_t kSmall = 64 << 10;
  constexpr uint64_t kSmallPages = 128;  // 128 MiB of pages, 2048 reads
  std::vector<std::byte> small(kSmall);
  Compare("page store read 128 MiB in 64 KiB ranges", "plain pread", kSmallPages * kPage, rounds,
          {nothing,
           [&] {
             ScopedFd fd = OpenOrDie(plain, O_RDONLY);
             for (uint64_t off = 0; off < kSmallPages * kPage; off += kSmall) {
               PreadAll(fd.get(), small.data(), kSmall, static_cast<off_t>(off));
             }
           }},
          {nothing, [&] {
             for (uint64_t off = 0; off < kSmallPages * kPage; off += kSmall) {
               auto n = store->Read(Key(off / kPage), off % kPage, small);
               if (!n.ok() || *n != kSmall) Die("read");
             }
           }});
  ::unlink(plain.c_str());
}

// Small files: 4 KiB pages vs one small plain file each (what loading many small files costs).
void SmallPages(const fs::path& root, int rounds) {
  constexpr uint64_t kPage = 4 << 10;
  constexpr uint64_t kFiles = 20000;
  const auto page = RandomBytes(kPage);
  const fs::path plain_dir = root / "small";
  auto store = OpenStoreOrDie(root / "small-store", kPage, 2 * kFiles * kPage);
  auto plain_path = [&](uint64_t i) { return fmt::format("{}/f{}", plain_dir.string(), i); };

  auto clear_plain = [&] {
    std::error_code ec;
    fs::remove_all(plain_dir, ec);
    fs::create_directories(plain_dir, ec);
    SyncFs(root);
  };
  auto clear_store = [&] {
    for (uint64_t i = 0; i < kFiles; ++i) Check(store->Delete(Key(i)), "delete");
    SyncFs(root);
  };
  Compare("page store put 20000 x 4 KiB", "plain small files", kFiles * kPage, rounds,
          {clear_plain,
           [&] {
             for (uint64_t i = 0; i < kFiles; ++i) {
               ScopedFd fd = OpenOrDie(plain_path(i), O_WRONLY | O_CREAT | O_TRUNC);
               WriteAll(fd.get(), page.data(), kPage);
               if (fd.Close() != 0) Die("close");
             }
           }},
          {clear_store, [&] {
             for (uint64_t i = 0; i < kFiles; ++i) Check(store->Put(Key(i), page), "put");
           }});

  std::vector<std::byte> buf(kPage);
  auto nothing = [] {};
  Compare("page store read 20000 x 4 KiB", "plain small files", kFiles * kPage, rounds,
          {nothing,
           [&] {
             for (uint64_t i = 0; i < kFiles; ++i) {
               ScopedFd fd = OpenOrDie(plain_path(i), O_RDONLY);
               PreadAll(fd.get(), buf.data(), kPage, 0);
             }
           }},
          {nothing, [&] {
             for (uint64_t i = 0; i < kFiles; ++i) {
               auto n = store->Read(Key(i), 0, buf);
               if (!n.ok() || *n != kPage) Die("read");
             }
           }});
}

// Restart: re-indexing 100,000 pages (a record header read per page) against listing and
// stat()ing 100,000 plain files, the least a one-file-per-page store would do at startup.
void Reindex(const fs::path& root, int rounds) {
  constexpr uint64_t kPage = 4 << 10;
  constexpr uint64_t kPages = 100000;
  const auto page = RandomBytes(kPage);
  const fs::path store_dir = root / "reindex-store";
  const fs::path plain_dir = root / "reindex-plain";
  const uint64_t capacity = 2 * kPages * kPage;
  {
    auto store = OpenStoreOrDie(store_dir, kPage, capacity);
    for (uint64_t i = 0; i < kPages; ++i) Check(store->Put(Key(i), page), "put");
  }
  fs::create_directories(plain_dir);
  for (uint64_t i = 0; i < kPages; ++i) {
    ScopedFd fd = OpenOrDie(fmt::format("{}/f{}", plain_dir.string(), i), O_WRONLY | O_CREAT);
    WriteAll(fd.get(), page.data(), kPage);
  }
  auto nothing = [] {};
  uint64_t indexed = 0;
  Compare("reopen a store of 100000 pages", "list+stat 100000 files", kPages * kPage, rounds,
          {nothing,
           [&] {
             uint64_t n = 0;
             for (const auto& e : fs::directory_iterator(plain_dir)) n += e.file_size() > 0;
             if (n != kPages) Die("listing");
           }},
          {nothing, [&] {
             auto store = OpenStoreOrDie(store_dir, kPage, capacity);
             indexed = store->stats().pages;
           }});
  if (indexed != kPages) Die(fmt::format("reopen indexed {} of {} pages", indexed, kPages));
  std::error_code ec;
  fs::remove_all(store_dir, ec);
  fs::remove_all(plain_dir, ec);
}

int Main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  Check(logging::Init("warn"), "logging");
  const char* env = std::getenv("ALLUVIUM_BENCH_DIR");
  std::string pattern = std::string(env && *env ? env : "/tmp") + "/alluvium-bench-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) Die(fmt::format("mkdtemp {}", pattern));
  const fs::path root = pattern;
  fmt::print(
      "page store bench in {} ({} rounds after warm-up; page cache warm, syncfs before each put)\n",
      root.string(), rounds);
  const std::string only = argc > 2 ? argv[2] : "";
  if (only.empty() || only == "big") BigPages(root, rounds);
  if (only.empty() || only == "small") SmallPages(root, rounds);
  if (only.empty() || only == "reindex") Reindex(root, rounds);
  std::error_code ec;
  fs::remove_all(root, ec);
  return 0;
}

}  // namespace
}  // namespace alluvium::pagestore

int main(int argc, char** argv) { return alluvium::pagestore::Main(argc, argv); }
