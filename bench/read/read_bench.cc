// One timed read for bench/read/run.sh, through the client library or straight from the UFS
// files on tmpfs, so both sides of a comparison run the same loop in the same kind of process and
// neither times process start-up or connecting. The script alternates the calls and compares
// the sums each prints (sums.h): a broken read fails the run instead of looking fast.
//
// Every command prints one line of key=value pairs (seconds, bytes, the sums, and for client
// reads the bytes the cluster served from its page stores and from the UFS):
//
//   read_bench checksum FILE                      full and sampled sums of a file (untimed)
//   read_bench client-seq [client flags] PATH     read a whole file in one Read call
//   read_bench client-small [client flags] DIR    List DIR (untimed), then Read every file
//   read_bench local-small DIR                    walk DIR (untimed), then open/read/close each
//   read_bench client-random [client flags] PATH COUNT SEED
//   read_bench local-random FILE COUNT SEED       COUNT reads of 4 KiB at 4 KiB-aligned offsets
//                                                 drawn with SEED (the same on both sides)
// client flags: --config FILE (the cluster's properties), -D key=value (overrides, as the CLI's),
// --full (client-seq: also a full XXH3 of the stream, which costs time: warm-up rounds only).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "client/client.h"
#include "common/config.h"
#include "common/scoped_fd.h"
#include "sums.h"

namespace alluvium::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kRandomReadSize = 4096;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "read_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const Status& s, std::string_view what) {
  if (!s.ok()) Die(fmt::format("{}: {}", what, s.ToString()));
}

uint64_t ParseCount(std::string_view text) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    Die(fmt::format("not a count: {}", text));
  }
  return v;
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

ScopedFd OpenOrDie(const std::string& path) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) Die(fmt::format("open {}: {}", path, std::strerror(errno)));
  return fd;
}

uint64_t SizeOf(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) Die(fmt::format("stat {}: {}", path, std::strerror(errno)));
  return static_cast<uint64_t>(st.st_size);
}

// Reads fd to its end into buf, passing each piece to `use`.
template <typename Use>
void ReadToEnd(int fd, std::span<std::byte> buf, const std::string& path, Use&& use) {
  while (true) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) Die(fmt::format("read {}: {}", path, std::strerror(errno)));
    if (n == 0) return;
    use(buf.first(static_cast<size_t>(n)));
  }
}

std::vector<uint64_t> RandomOffsets(uint64_t file_size, uint64_t count, uint64_t seed) {
  const uint64_t slots = file_size / kRandomReadSize;
  if (slots == 0) Die("file smaller than one random read");
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> offsets(count);
  for (uint64_t& o : offsets) o = rng() % slots * kRandomReadSize;
  return offsets;
}

struct ClientFlags {
  std::string config_file;
  std::vector<std::string> overrides;
  bool full = false;
  std::vector<std::string> positional;
};

ClientFlags ParseClientFlags(int argc, char** argv) {
  ClientFlags f;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      f.config_file = argv[++i];
    } else if (a == "-D" && i + 1 < argc) {
      f.overrides.emplace_back(argv[++i]);
    } else if (a == "--full") {
      f.full = true;
    } else {
      f.positional.push_back(a);
    }
  }
  return f;
}

std::unique_ptr<client::Client> ConnectOrDie(const ClientFlags& f) {
  auto config = Config::Load({.file = f.config_file, .overrides = f.overrides});
  Check(config.status(), "config");
  auto c = client::Client::Connect(*config);
  Check(c.status(), "connect");
  return std::move(*c);
}

void Add(client::ReadStats& total, const client::ReadStats& s) {
  total.bytes += s.bytes;
  total.bytes_from_cache += s.bytes_from_cache;
  total.bytes_from_ufs += s.bytes_from_ufs;
}

std::string StatsText(const client::ReadStats& s) {
  return fmt::format("from_cache={} from_ufs={}", s.bytes_from_cache, s.bytes_from_ufs);
}

int Checksum(const std::string& path) {
  ScopedFd fd = OpenOrDie(path);
  std::vector<std::byte> buf(1 << 20);
  SampledSum sampled;
  FullSum full;
  ReadToEnd(fd.get(), buf, path, [&](std::span<const std::byte> d) {
    sampled.Update(d);
    full.Update(d);
  });
  std::printf("bytes=%lu sampled=%016lx full=%016lx\n", sampled.bytes(), sampled.value(),
              full.value());
  return 0;
}

int ClientSeq(const ClientFlags& f) {
  if (f.positional.size() != 1) Die("client-seq takes one PATH");
  auto c = ConnectOrDie(f);
  SampledSum sampled;
  FullSum full;
  const auto start = Clock::now();
  auto stats = c->Read(f.positional[0], 0, std::numeric_limits<uint64_t>::max(),
                       [&](std::span<const std::byte> d) {
                         sampled.Update(d);
                         if (f.full) full.Update(d);
                         return OkStatus();
                       });
  const double seconds = SecondsSince(start);
  Check(stats.status(), "read " + f.positional[0]);
  std::printf("seconds=%.6f bytes=%lu sampled=%016lx", seconds, sampled.bytes(), sampled.value());
  if (f.full) std::printf(" full=%016lx", full.value());
  std::printf(" %s\n", StatsText(*stats).c_str());
  return 0;
}

int ClientSmall(const ClientFlags& f) {
  if (f.positional.size() != 1) Die("client-small takes one DIR");
  std::string dir = f.positional[0];
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  auto c = ConnectOrDie(f);
  std::vector<std::string> paths;
  const auto list_start = Clock::now();
  Check(c->List(dir, /*recursive=*/true,
                [&](const client::FileInfo& info) {
                  if (!info.is_directory) paths.push_back(info.path);
                  return OkStatus();
                }),
        "list " + dir);
  const double list_seconds = SecondsSince(list_start);
  std::sort(paths.begin(), paths.end());

  uint64_t sum = 0, bytes = 0;
  client::ReadStats total;
  const auto start = Clock::now();
  for (const std::string& path : paths) {
    if (path.size() <= dir.size() + 1 || path.compare(0, dir.size(), dir) != 0) {
      Die(fmt::format("listing of {} returned {}", dir, path));
    }
    FullSum file_sum(NameSeed(std::string_view(path).substr(dir.size() + 1)));
    auto stats =
        c->Read(path, 0, std::numeric_limits<uint64_t>::max(), [&](std::span<const std::byte> d) {
          file_sum.Update(d);
          bytes += d.size();
          return OkStatus();
        });
    Check(stats.status(), "read " + path);
    Add(total, *stats);
    sum += file_sum.value();
  }
  const double seconds = SecondsSince(start);
  std::printf("seconds=%.6f files=%zu bytes=%lu sum=%016lx list_seconds=%.6f %s\n", seconds,
              paths.size(), bytes, sum, list_seconds, StatsText(total).c_str());
  return 0;
}

int LocalSmall(const std::string& dir) {
  std::vector<std::string> rel;
  const auto list_start = Clock::now();
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec)) rel.push_back(fs::relative(it->path(), dir, ec).string());
  }
  if (ec) Die(fmt::format("walk {}: {}", dir, ec.message()));
  const double list_seconds = SecondsSince(list_start);
  std::sort(rel.begin(), rel.end());

  std::vector<std::byte> buf(64 << 10);
  uint64_t sum = 0, bytes = 0;
  const auto start = Clock::now();
  for (const std::string& r : rel) {
    const std::string path = dir + "/" + r;
    ScopedFd fd = OpenOrDie(path);
    FullSum file_sum(NameSeed(r));
    ReadToEnd(fd.get(), buf, path, [&](std::span<const std::byte> d) {
      file_sum.Update(d);
      bytes += d.size();
    });
    sum += file_sum.value();
  }
  const double seconds = SecondsSince(start);
  std::printf("seconds=%.6f files=%zu bytes=%lu sum=%016lx list_seconds=%.6f\n", seconds,
              rel.size(), bytes, sum, list_seconds);
  return 0;
}

uint64_t RangeSeed(uint64_t offset) { return offset * 0x9e3779b97f4a7c15ULL; }

int ClientRandom(const ClientFlags& f) {
  if (f.positional.size() != 3) Die("client-random takes PATH COUNT SEED");
  const std::string& path = f.positional[0];
  auto c = ConnectOrDie(f);
  auto info = c->GetStatus(path);
  Check(info.status(), "stat " + path);
  const auto offsets =
      RandomOffsets(info->length, ParseCount(f.positional[1]), ParseCount(f.positional[2]));
  uint64_t sum = 0, bytes = 0;
  client::ReadStats total;
  const auto start = Clock::now();
  for (const uint64_t offset : offsets) {
    FullSum range_sum(RangeSeed(offset));
    uint64_t got = 0;
    auto stats = c->Read(path, offset, kRandomReadSize, [&](std::span<const std::byte> d) {
      range_sum.Update(d);
      got += d.size();
      return OkStatus();
    });
    Check(stats.status(), fmt::format("read {} at {}", path, offset));
    if (got != kRandomReadSize) Die(fmt::format("read {} at {}: {} bytes", path, offset, got));
    Add(total, *stats);
    sum += range_sum.value();
    bytes += got;
  }
  const double seconds = SecondsSince(start);
  std::printf("seconds=%.6f reads=%zu bytes=%lu sum=%016lx %s\n", seconds, offsets.size(), bytes,
              sum, StatsText(total).c_str());
  return 0;
}

int LocalRandom(const std::string& path, uint64_t count, uint64_t seed) {
  ScopedFd fd = OpenOrDie(path);
  const auto offsets = RandomOffsets(SizeOf(fd.get(), path), count, seed);
  std::vector<std::byte> buf(kRandomReadSize);
  uint64_t sum = 0, bytes = 0;
  const auto start = Clock::now();
  for (const uint64_t offset : offsets) {
    const ssize_t n = ::pread(fd.get(), buf.data(), buf.size(), static_cast<off_t>(offset));
    if (n != static_cast<ssize_t>(buf.size())) {
      Die(fmt::format("pread {} at {}: {}", path, offset, n < 0 ? std::strerror(errno) : "short"));
    }
    sum += XXH3_64bits_withSeed(buf.data(), buf.size(), RangeSeed(offset));
    bytes += buf.size();
  }
  const double seconds = SecondsSince(start);
  std::printf("seconds=%.6f reads=%zu bytes=%lu sum=%016lx\n", seconds, offsets.size(), bytes, sum);
  return 0;
}

int Main(int argc, char** argv) {
  if (argc < 2) Die("usage: read_bench COMMAND ... (see the comment at the top of read_bench.cc)");
  const std::string cmd = argv[1];
  if (cmd == "checksum" && argc == 3) return Checksum(argv[2]);
  if (cmd == "local-small" && argc == 3) return LocalSmall(argv[2]);
  if (cmd == "local-random" && argc == 5) {
    return LocalRandom(argv[2], ParseCount(argv[3]), ParseCount(argv[4]));
  }
  const ClientFlags flags = ParseClientFlags(argc - 2, argv + 2);
  if (cmd == "client-seq") return ClientSeq(flags);
  if (cmd == "client-small") return ClientSmall(flags);
  if (cmd == "client-random") return ClientRandom(flags);
  Die("unknown command or wrong arguments: " + cmd);
}

}  // namespace
}  // namespace alluvium::bench

int main(int argc, char** argv) { return alluvium::bench::Main(argc, argv); }
