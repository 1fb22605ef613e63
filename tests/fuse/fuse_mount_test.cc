// A real FUSE mount of a local cluster (`alluvium fuse mount`, in the background as users run
// it): every file reads back byte for byte with the UFS's sha256, stat and listings agree with
// the UFS, writes fail with EROFS, and unmount, SIGTERM and bad mount points behave; readers in
// threads and processes, a worker killed and an unmount under running reads cost no wrong byte.
// Where /dev/fuse cannot be opened these tests say so loudly and skip.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "cli/process.h"
#include "common/file_util.h"
#include "common/scoped_fd.h"
#include "fuse/mount_point.h"
#include "integration/local_cluster.h"
#include "testing/eventually.h"
#include "ufs/s3/sigv4.h"

namespace alluvium::fuse {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::LocalCluster;
using testing::LocalClusterOptions;
using testing::WriteRandomFile;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every entry below `root`, relative to it.
std::set<std::string> Tree(const fs::path& root) {
  std::set<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    out.insert(fs::relative(it->path(), root).string());
  }
  EXPECT_FALSE(ec) << root << ": " << ec.message();
  return out;
}

// The whole file through read(2); nullopt on any error (the reader's errno is lost: callers only
// tell "an error" from "these bytes").
std::optional<std::string> ReadWithSyscalls(const fs::path& path) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY));
  if (!fd.valid()) return std::nullopt;
  std::string out;
  char buffer[64 << 10];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) return std::nullopt;
    if (n == 0) return out;
    out.append(buffer, static_cast<size_t>(n));
  }
}

bool Mounted(const fs::path& mountpoint) {
  auto type = MountedType(mountpoint.string());
  return type.ok() && type->has_value() && **type == kFuseFsType;
}

class FuseMountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ScopedFd fuse(::open("/dev/fuse", O_RDWR | O_CLOEXEC));
    if (!fuse.valid()) {
      const std::string why = std::strerror(errno);
      std::fprintf(stderr,
                   "\n*** FUSE TESTS SKIPPED: /dev/fuse cannot be opened (%s). Nothing was "
                   "mounted and nothing about the mount is tested here. ***\n\n",
                   why.c_str());
      GTEST_SKIP() << "/dev/fuse cannot be opened: " << why;
    }
    cluster_ = std::make_unique<LocalCluster>(
        LocalClusterOptions{.workers = 2,
                            .conf = {"alluvium.worker.page.store.page.size=64KB",
                                     "alluvium.user.file.segment.size=256KB"}});
    const Status started = cluster_->Start();
    ASSERT_TRUE(started.ok()) << started;
    const fs::path data = cluster_->ufs_root() / "data";
    uint32_t seed = 1;
    for (const auto& [name, size] :
         std::vector<std::pair<std::string, size_t>>{{"empty", 0},
                                                     {"one", 1},
                                                     {"page-minus-one", 65'535},
                                                     {"a.bin", 700'000},
                                                     {"sub/b.bin", 1'300'000},
                                                     {"sub/deeper/c.txt", 4'096},
                                                     {"name with spaces", 10}}) {
      WriteRandomFile(data / name, size, seed++);
    }
    fs::create_directories(data / "empty-dir");
    const auto load = cluster_->Cli("job load /data --wait");
    ASSERT_EQ(load.exit_code, 0) << load.output << load.errors;
    mountpoint_ = dir_.path() / "mnt";
    run_dir_ = dir_.path() / "run";
    fs::create_directories(mountpoint_);
  }

  void TearDown() override {
    if (cluster_ && Mounted(mountpoint_)) {
      const auto r = Unmount();
      EXPECT_EQ(r.exit_code, 0) << r.output << r.errors;
      if (Mounted(mountpoint_)) ::umount2(mountpoint_.c_str(), MNT_DETACH);
    }
  }

  testing::CommandResult Mount(const std::string& extra = "") {
    return cluster_->Cli(fmt::format("fuse mount {} --run-dir {} {}", mountpoint_.string(),
                                     run_dir_.string(), extra));
  }
  testing::CommandResult Unmount() {
    return cluster_->Cli(
        fmt::format("fuse unmount {} --run-dir {}", mountpoint_.string(), run_dir_.string()));
  }
  // The daemon's files are named after the mount point, '/' as '_'.
  std::string MountName() const {
    std::string name = mountpoint_.string().substr(1);
    for (char& c : name) c = c == '/' ? '_' : c;
    return name;
  }
  pid_t DaemonPid() {
    auto text = ReadWholeFile(run_dir_ / "fuse" / (MountName() + ".pid"));
    return text.ok() ? static_cast<pid_t>(std::atol(text->c_str())) : -1;
  }

  // Every regular file under the UFS's /data, by path relative to it.
  std::map<std::string, std::string> UfsFiles() {
    const fs::path ufs = cluster_->ufs_root() / "data";
    std::map<std::string, std::string> files;
    for (const std::string& rel : Tree(ufs)) {
      if (fs::is_regular_file(ufs / rel)) files[rel] = ReadFile(ufs / rel);
    }
    return files;
  }

  // Reads every file of `expected` by path through the mount, round after round, until `stop`;
  // `tally` gets each file's bytes and what the read gave (nullopt: an error).
  void ReadUntilStopped(const std::map<std::string, std::string>& expected,
                        const std::atomic<bool>& stop,
                        const std::function<void(const std::string& bytes,
                                                 const std::optional<std::string>& got)>& tally) {
    while (!stop.load()) {
      for (const auto& [rel, bytes] : expected) {
        tally(bytes, ReadWithSyscalls(mountpoint_ / "data" / rel));
      }
    }
  }

  testing::ScopedTempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
  fs::path mountpoint_;
  fs::path run_dir_;
};

TEST_F(FuseMountTest, EveryFileReadsBackWithTheUfsBytesAndSha256) {
  const auto m = Mount();
  ASSERT_EQ(m.exit_code, 0) << m.output << m.errors;
  ASSERT_TRUE(Mounted(mountpoint_));
  const fs::path ufs = cluster_->ufs_root() / "data";
  size_t files = 0;
  for (const auto& [rel, expected] : UfsFiles()) {
    const std::string got = ReadFile(mountpoint_ / "data" / rel);
    EXPECT_EQ(got.size(), expected.size()) << rel;
    EXPECT_TRUE(got == expected) << rel;
    EXPECT_EQ(ufs::s3::Sha256Hex(got), ufs::s3::Sha256Hex(expected)) << rel;
    ++files;
  }
  EXPECT_EQ(files, 7u);

  // Reads at offsets that cross pages and segments, as a random reader makes them.
  ScopedFd fd(::open((mountpoint_ / "data/sub/b.bin").c_str(), O_RDONLY));
  ASSERT_TRUE(fd.valid()) << std::strerror(errno);
  const std::string whole = ReadFile(ufs / "sub/b.bin");
  for (const off_t offset : {off_t{0}, off_t{65'530}, off_t{262'140}, off_t{1'299'000}}) {
    char buffer[5000];
    const ssize_t n = ::pread(fd.get(), buffer, sizeof buffer, offset);
    ASSERT_GE(n, 0) << std::strerror(errno);
    EXPECT_EQ(std::string_view(buffer, static_cast<size_t>(n)),
              std::string_view(whole).substr(static_cast<size_t>(offset), sizeof buffer))
        << offset;
  }
}

// No cache filter file: every file is immutable for good, so the kernel reads files without
// sending open and release (FUSE's no_open), and keeps their pages across opens.
TEST_F(FuseMountTest, WithEveryFileImmutableTheKernelReadsWithoutOpening) {
  const auto m = Mount();
  ASSERT_EQ(m.exit_code, 0) << m.output << m.errors;
  const fs::path ufs = cluster_->ufs_root() / "data";
  for (int round = 0; round < 2; ++round) {
    for (const auto& [rel, bytes] : UfsFiles()) {
      EXPECT_TRUE(ReadWithSyscalls(mountpoint_ / "data" / rel) == bytes) << rel;
    }
  }
  const auto log = ReadWholeFile(run_dir_ / "logs" / ("fuse-" + MountName() + ".log"));
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_NE(log->find("reads files without opening them"), std::string::npos) << *log;
}

// Whether every page of the file is in the kernel's page cache: mincore on a mapping, which
// reads nothing.
bool Resident(const fs::path& path) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || st.st_size == 0) return false;
  const auto size = static_cast<size_t>(st.st_size);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0);
  if (map == MAP_FAILED) return false;
  const long page = ::sysconf(_SC_PAGESIZE);
  std::vector<unsigned char> pages((size + page - 1) / page);
  const bool ok = ::mincore(map, size, pages.data()) == 0;
  ::munmap(map, size);
  return ok && std::all_of(pages.begin(), pages.end(), [](unsigned char p) { return p & 1; });
}

// A listing (readdirplus) is followed by the bytes of its small cached files into the kernel's
// page cache, so that a job reading them after listing sends no request per file; larger files
// are not, and -o push_small_kb=0 turns it off.
TEST_F(FuseMountTest, AListingPutsItsSmallFilesInThePageCache) {
  for (const bool push : {true, false}) {
    SCOPED_TRACE(push ? "push on" : "push_small_kb=0");
    auto m = Mount(push ? "" : "-o push_small_kb=0");
    ASSERT_EQ(m.exit_code, 0) << m.output << m.errors;
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(mountpoint_ / "data")) {
      names.push_back(entry.path().filename().string());
    }
    EXPECT_EQ(names.size(), 7u);
    const fs::path data = mountpoint_ / "data";
    for (const char* small : {"one", "page-minus-one", "name with spaces"}) {
      if (push) {
        EXPECT_TRUE(testing::Eventually([&] { return Resident(data / small); }, 10s)) << small;
      } else {
        EXPECT_FALSE(Resident(data / small)) << small;
      }
    }
    EXPECT_FALSE(Resident(data / "a.bin")) << "700,000 bytes: more than push_small_kb";
    for (const auto& [rel, bytes] : UfsFiles()) {
      EXPECT_TRUE(ReadWithSyscalls(data / rel) == bytes) << rel;
    }
    const auto u = Unmount();
    ASSERT_EQ(u.exit_code, 0) << u.output << u.errors;
  }
}

// The "done when": a PyTorch DataLoader with 4 worker processes reads every sample
// through the mount identical to the UFS (examples/pytorch, run as a user would run it).
TEST_F(FuseMountTest, PyTorchDataLoaderWithFourWorkerProcessesReadsEverySampleAsInTheUfs) {
  const fs::path python = "/usr/bin/python3";
  const auto torch = testing::RunCommand(fmt::format("{} -c 'import torch'", python.string()),
                                         dir_.path() / "torch.stderr");
  if (torch.exit_code != 0) {
    std::fprintf(stderr,
                 "\n*** PYTORCH EXAMPLE SKIPPED: %s cannot import torch (Debian's python3-torch; "
                 "scripts/install-deps.sh installs it). ***\n%s\n",
                 python.c_str(), torch.errors.c_str());
    GTEST_SKIP() << python << " cannot import torch";
  }
  const auto m = Mount();
  ASSERT_EQ(m.exit_code, 0) << m.output << m.errors;
  const auto run = testing::RunCommand(
      fmt::format("{} {}/pytorch/read_dataset.py {} --reference {} --workers 4 --batch-size 2 "
                  "--epochs 2",
                  python.string(), ALLUVIUM_EXAMPLES_DIR, (mountpoint_ / "data").string(),
                  (cluster_->ufs_root() / "data").string()),
      dir_.path() / "example.stderr");
  EXPECT_EQ(run.exit_code, 0) << run.output << run.errors;
  EXPECT_NE(run.output.find("read 14 samples"), std::string::npos) << run.output << run.errors;
  EXPECT_NE(run.output.find("every sample identical"), std::string::npos) << run.output;
}

TEST_F(FuseMountTest, SixteenConcurrentReadersGetTheUfsBytes) {
  const auto m = Mount();
  ASSERT_EQ(m.exit_code, 0) << m.output << m.errors;
  const std::map<std::string, std::string> expected = UfsFiles();
  std::atomic<int> wrong{0};
  {
    std::vector<std::jthread> readers;
    for (int i = 0; i < 16; ++i) {
      readers.emplace_back([&, i] {
        // Each starts at a different file, so the daemon's threads serve different files at once.
        auto it = expected.begin();
        std::advance(it, i % expected.size());
        for (size_t n = 0; n < expected.size(); ++n) {
          if (ReadFile(mountpoint_ / "data" / it->first) != it->second) ++wrong;
          if (++it == expected.end()) it = expected.begin();
        }
      });
    }
  }
  EXPECT_EQ(wrong.load(), 0);
}

// The same as processes, as a DataLoader's workers read: each child reads every file with
// read(2) into memory allocated before the fork and reports by its exit code. direct_io sends
// every read to the daemon rather than the page cache the first reader filled.
TEST_F(FuseMountTest, SixteenConcurrentReaderProcessesGetTheUfsBytes) {
  const auto m = Mount("-o direct_io");
  ASSERT_EQ(m.exit_code, 0) << m.output << m.errors;
  const std::map<std::string, std::string> expected = UfsFiles();
  std::vector<std::pair<std::string, const std::string*>> files;
  size_t largest = 0;
  for (const auto& [rel, bytes] : expected) {
    files.emplace_back((mountpoint_ / "data" / rel).string(), &bytes);
    largest = std::max(largest, bytes.size());
  }
  // After fork only async-signal-safe calls: open, read, memcmp, _exit.
  std::vector<char> buffer(largest + 1);
  constexpr int kRounds = 3;
  std::vector<pid_t> children;
  for (int i = 0; i < 16; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0) << std::strerror(errno);
    if (pid == 0) {
      for (size_t n = 0; n < kRounds * files.size(); ++n) {
        const auto& [path, bytes] = files[(i + n) % files.size()];
        const int fd = ::open(path.c_str(), O_RDONLY);
        if (fd < 0) ::_exit(2);
        size_t got = 0;
        for (ssize_t r = 1; r > 0 && got < buffer.size(); got += static_cast<size_t>(r)) {
          r = ::read(fd, buffer.data() + got, buffer.size() - got);
          if (r < 0) ::_exit(3);
          if (r == 0) break;
        }
        ::close(fd);
        if (got != bytes->size() || std::memcmp(buffer.data(), bytes->data(), got) != 0) {
          ::_exit(4);
        }
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    // 2: open failed, 3: read failed, 4: wrong bytes.
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "reader " << pid << " status " << status;
  }
}

// Issue 15's Alluxio#16295: a worker dies under readers and no read fails or returns a wrong
// byte; the client moves the segments to the next worker of the ring.
TEST_F(FuseMountTest, WorkerKilledDuringReadsCostsNoFailedOrWrongRead) {
  {
    // Both workers own segments of the larger files, so whichever dies was serving them.
    auto client = cluster_->NewClient();
    ASSERT_TRUE(client.ok()) << client.status();
    auto segments = (*client)->Locate("/data/sub/b.bin");
    ASSERT_TRUE(segments.ok()) << segments.status();
    std::set<std::string> owners;
    for (const client::SegmentLocation& s : *segments) {
      if (!s.holders.empty()) owners.insert(s.holders.front().worker_id);
    }
    ASSERT_EQ(owners.size(), 2u);
  }
  const auto m = Mount("-o direct_io");
  ASSERT_EQ(m.exit_code, 0) << m.output << m.errors;
  const std::map<std::string, std::string> expected = UfsFiles();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0}, wrong{0}, failed{0};
  {
    std::vector<std::jthread> readers;
    for (int r = 0; r < 4; ++r) {
      readers.emplace_back([&] {
        ReadUntilStopped(expected, stop, [&](const std::string& bytes, const auto& got) {
          if (!got) {
            ++failed;
          } else if (*got != bytes) {
            ++wrong;
          }
          ++reads;
        });
      });
    }
    ASSERT_TRUE(testing::Eventually([&] { return reads.load() >= 50; }, 60s));
    cluster_->SignalWorker(1, SIGKILL);
    const uint64_t at_kill = reads.load();
    EXPECT_TRUE(testing::Eventually([&] { return reads.load() >= at_kill + 100; }, 120s));
    stop = true;
  }
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_EQ(failed.load(), 0u);
}

// Unmounting (lazily, as a busy mount must be) under running readers: each read gives the right
// bytes or an error, never wrong bytes; readers with the file open keep it until the daemon
// goes; nothing hangs, and the mount point is left clean to mount again.
TEST_F(FuseMountTest, UnmountWhileReadsRunGivesErrorsNeverWrongBytes) {
  const auto m = Mount("-o direct_io");
  ASSERT_EQ(m.exit_code, 0) << m.output << m.errors;
  const pid_t pid = DaemonPid();
  ASSERT_GT(pid, 0);
  const std::map<std::string, std::string> expected = UfsFiles();
  const std::string& b = expected.at("sub/b.bin");
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0}, wrong{0}, errors{0};
  {
    std::vector<std::jthread> readers;
    // Half reopen each file by path (after the unmount: ENOENT), half keep one open and pread it.
    for (int r = 0; r < 4; ++r) {
      readers.emplace_back([&] {
        ReadUntilStopped(expected, stop, [&](const std::string& bytes, const auto& got) {
          if (!got) {
            ++errors;
          } else if (*got != bytes && !got->empty()) {
            ++wrong;  // EOF (empty: the files under the bare mount point) is fine
          }
          ++reads;
        });
      });
      readers.emplace_back([&] {
        ScopedFd fd(::open((mountpoint_ / "data/sub/b.bin").c_str(), O_RDONLY));
        if (!fd.valid()) {
          ++errors;
          return;
        }
        std::vector<char> buffer(b.size());
        while (!stop.load()) {
          const ssize_t n = ::pread(fd.get(), buffer.data(), buffer.size(), 0);
          if (n < 0) {
            ++errors;
            return;  // the daemon is gone: every later read fails too
          }
          if (std::string_view(buffer.data(), static_cast<size_t>(n)) !=
              std::string_view(b).substr(0, static_cast<size_t>(n))) {
            ++wrong;
          }
          ++reads;
        }
      });
    }
    ASSERT_TRUE(testing::Eventually([&] { return reads.load() >= 50; }, 60s));
    const auto u = cluster_->Cli(fmt::format("fuse unmount {} --run-dir {} --lazy",
                                             mountpoint_.string(), run_dir_.string()));
    EXPECT_EQ(u.exit_code, 0) << u.output << u.errors;
    EXPECT_FALSE(Mounted(mountpoint_));
    EXPECT_FALSE(cli::IsAlive(pid)) << "the daemon is still running";
    const uint64_t after = reads.load() + errors.load();
    // Readers go on, and get answers (errors) rather than hang.
    EXPECT_TRUE(
        testing::Eventually([&] { return reads.load() + errors.load() >= after + 20; }, 30s));
    stop = true;
  }
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_GT(errors.load(), 0u);
  struct stat st {};
  EXPECT_EQ(::stat(mountpoint_.c_str(), &st), 0) << "no dead mount left: " << std::strerror(errno);
  EXPECT_TRUE(Tree(mountpoint_).empty());
  const auto again = Mount();
  ASSERT_EQ(again.exit_code, 0) << again.output << again.errors;
  EXPECT_TRUE(ReadFile(mountpoint_ / "data/sub/b.bin") == b);
}

TEST_F(FuseMountTest, StatAndListingsAgreeWithTheUfs) {
  const auto m = Mount();
  ASSERT_EQ(m.exit_code, 0) << m.output << m.errors;
  const fs::path ufs = cluster_->ufs_root() / "data";
  const std::set<std::string> tree = Tree(ufs);
  EXPECT_EQ(Tree(mountpoint_ / "data"), tree);
  for (const std::string& rel : tree) {
    struct stat want {
    }, got{};
    ASSERT_EQ(::stat((ufs / rel).c_str(), &want), 0) << rel;
    ASSERT_EQ(::stat((mountpoint_ / "data" / rel).c_str(), &got), 0)
        << rel << ": " << std::strerror(errno);
    EXPECT_EQ(S_ISDIR(got.st_mode), S_ISDIR(want.st_mode)) << rel;
    EXPECT_EQ(S_ISREG(got.st_mode), S_ISREG(want.st_mode)) << rel;
    if (S_ISREG(want.st_mode)) {
      EXPECT_EQ(got.st_size, want.st_size) << rel;
    }
    EXPECT_EQ(got.st_mtim.tv_sec, want.st_mtim.tv_sec) << rel;
  }
  struct stat missing {};
  EXPECT_EQ(::stat((mountpoint_ / "data/nope").c_str(), &missing), -1);
  EXPECT_EQ(errno, ENOENT);
}

// Under the default immutable rule the kernel keeps attributes, entries and data for an hour and
// the client its statuses for minutes: `fuse drop-caches` is the way out once the UFS changed
// (and, for a changed file, a load refreshed the workers' statuses).
TEST_F(FuseMountTest, DropCachesShowsWhatChangedInTheUfsUnderAnImmutableRule) {
  const auto m = Mount();
  ASSERT_EQ(m.exit_code, 0) << m.output << m.errors;
  const fs::path ufs = cluster_->ufs_root() / "data";
  const fs::path a = mountpoint_ / "data/a.bin";
  EXPECT_TRUE(ReadFile(a) == ReadFile(ufs / "a.bin"));
  EXPECT_EQ(fs::file_size(a), 700'000u);

  WriteRandomFile(ufs / "sub/new.bin", 1000, 99);
  const std::string rewritten = WriteRandomFile(ufs / "a.bin", 800'000, 98);
  const auto load = cluster_->Cli("job load /data --wait");
  ASSERT_EQ(load.exit_code, 0) << load.output << load.errors;
  EXPECT_EQ(fs::file_size(a), 700'000u) << "the kernel's attributes were not cached";

  const auto d = cluster_->Cli(
      fmt::format("fuse drop-caches {} --run-dir {}", mountpoint_.string(), run_dir_.string()));
  ASSERT_EQ(d.exit_code, 0) << d.output << d.errors;
  EXPECT_NE(d.output.find("Dropped"), std::string::npos) << d.output;
  EXPECT_EQ(Tree(mountpoint_ / "data"), Tree(ufs));
  EXPECT_TRUE(fs::exists(mountpoint_ / "data/sub/new.bin"));
  EXPECT_EQ(fs::file_size(a), 800'000u);
  EXPECT_TRUE(ReadFile(a) == rewritten);
  EXPECT_TRUE(ReadFile(mountpoint_ / "data/sub/new.bin") == ReadFile(ufs / "sub/new.bin"));
  EXPECT_TRUE(cli::IsAlive(DaemonPid()));

  // A bare SIGUSR1 (a --foreground mount's way) drops too, and kills no thread of the daemon.
  const fs::path log = run_dir_ / "logs" / ("fuse-" + MountName() + ".log");
  auto drops = [&] {
    const std::string text = ReadFile(log);
    size_t n = 0;
    for (size_t at = text.find("dropped the metadata caches"); at != std::string::npos;
         at = text.find("dropped the metadata caches", at + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(drops(), 1u) << log;
  ASSERT_EQ(::kill(DaemonPid(), SIGUSR1), 0);
  EXPECT_TRUE(testing::Eventually([&] { return drops() == 2; }, 10s));
  EXPECT_TRUE(cli::IsAlive(DaemonPid()));
  EXPECT_TRUE(ReadFile(a) == rewritten);

  // Nothing mounted, or nothing to signal: a clear error, not a hang.
  const auto none = cluster_->Cli(fmt::format(
      "fuse drop-caches {} --run-dir {}", (dir_.path() / "elsewhere").string(), run_dir_.string()));
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.errors.find("no alluvium FUSE mount"), std::string::npos) << none.errors;
  // A daemon gone (SIGKILL) leaves its PID file; the number is not signalled blindly.
  const pid_t pid = DaemonPid();
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ASSERT_TRUE(testing::Eventually([&] { return !cli::IsAlive(pid); }, 10s));
  const auto dead = cluster_->Cli(
      fmt::format("fuse drop-caches {} --run-dir {}", mountpoint_.string(), run_dir_.string()));
  EXPECT_EQ(dead.exit_code, 1);
  EXPECT_NE(dead.errors.find("has died"), std::string::npos) << dead.errors;
}

// A file many read-ahead windows long, read through the daemon (direct_io) sequentially in the
// kernel's chunks, with random reads on another descriptor in between: every byte the UFS's,
// with read-ahead and without it (read_ahead_parts=0).
TEST_F(FuseMountTest, ReadAheadOfALargeFileKeepsSequentialAndRandomReadsByteIdentical) {
  const std::string bytes = WriteRandomFile(cluster_->ufs_root() / "big/file.bin", 50'000'017, 77);
  const auto load = cluster_->Cli("job load /big --wait");
  ASSERT_EQ(load.exit_code, 0) << load.output << load.errors;
  for (const char* options : {"-o direct_io", "-o direct_io,read_ahead_parts=0"}) {
    SCOPED_TRACE(options);
    const auto m = Mount(options);
    ASSERT_EQ(m.exit_code, 0) << m.output << m.errors;
    const fs::path path = mountpoint_ / "big/file.bin";
    {
      ScopedFd sequential(::open(path.c_str(), O_RDONLY));
      ScopedFd random(::open(path.c_str(), O_RDONLY));
      ASSERT_TRUE(sequential.valid() && random.valid()) << std::strerror(errno);
      std::vector<char> chunk(128 << 10), small(4096);
      uint64_t offset = 0;
      uint32_t rng = 12345;
      while (true) {
        const ssize_t n = ::read(sequential.get(), chunk.data(), chunk.size());
        ASSERT_GE(n, 0) << std::strerror(errno);
        if (n == 0) break;
        ASSERT_EQ(std::string_view(chunk.data(), static_cast<size_t>(n)),
                  std::string_view(bytes).substr(offset, static_cast<size_t>(n)))
            << offset;
        offset += static_cast<uint64_t>(n);
        rng = rng * 1103515245 + 12345;
        const uint64_t at = rng % bytes.size();
        const ssize_t r = ::pread(random.get(), small.data(), small.size(), static_cast<off_t>(at));
        ASSERT_GE(r, 0) << std::strerror(errno);
        ASSERT_EQ(std::string_view(small.data(), static_cast<size_t>(r)),
                  std::string_view(bytes).substr(at, small.size()))
            << at;
      }
      EXPECT_EQ(offset, bytes.size());
    }
    const auto u = Unmount();
    ASSERT_EQ(u.exit_code, 0) << u.output << u.errors;
  }
}

TEST_F(FuseMountTest, PathOptionMountsASubdirectory) {
  const auto m = Mount("--path /data/sub -o attr_timeout=0,entry_timeout=0");
  ASSERT_EQ(m.exit_code, 0) << m.output << m.errors;
  EXPECT_EQ(Tree(mountpoint_), Tree(cluster_->ufs_root() / "data/sub"));
  EXPECT_TRUE(ReadFile(mountpoint_ / "b.bin") == ReadFile(cluster_->ufs_root() / "data/sub/b.bin"));
}

// The kernel's read-ahead of the mount (its bdi's read_ahead_kb) is raised from 128 KiB once the
// mount answers; sysfs takes it from root only.
TEST_F(FuseMountTest, TheKernelsReadAheadIsRaisedToTheOption) {
  const auto m = Mount("-o read_ahead_kb=2048");
  ASSERT_EQ(m.exit_code, 0) << m.output << m.errors;
  struct stat st {};
  ASSERT_EQ(::stat(mountpoint_.c_str(), &st), 0);
  const fs::path sysfs =
      fmt::format("/sys/class/bdi/{}:{}/read_ahead_kb", major(st.st_dev), minor(st.st_dev));
  // Not root, or a root without sysfs (a chroot): the daemon only warns, and so does this test.
  if (::access(sysfs.c_str(), W_OK) != 0) {
    std::fprintf(stderr,
                 "\n*** %s cannot be written here (%s): the kernel's read-ahead of FUSE mounts "
                 "is not tested. ***\n\n",
                 sysfs.c_str(), std::strerror(errno));
    GTEST_SKIP() << sysfs << " cannot be written here";
  }
  EXPECT_TRUE(testing::Eventually(
      [&] {
        std::ifstream in(sysfs);
        uint32_t kib = 0;
        return in >> kib && kib == 2048;
      },
      10s))
      << sysfs;
}

TEST_F(FuseMountTest, WritesFailWithErofs) {
  const auto m = Mount();
  ASSERT_EQ(m.exit_code, 0) << m.output << m.errors;
  const fs::path a = mountpoint_ / "data/a.bin";
  for (const int flags : {O_WRONLY, O_RDWR, O_RDONLY | O_TRUNC}) {
    errno = 0;
    ScopedFd fd(::open(a.c_str(), flags));
    EXPECT_FALSE(fd.valid()) << flags;
    EXPECT_EQ(errno, EROFS) << flags << ": " << std::strerror(errno);
  }
  errno = 0;
  EXPECT_EQ(::open((mountpoint_ / "data/new").c_str(), O_WRONLY | O_CREAT, 0644), -1);
  EXPECT_EQ(errno, EROFS) << std::strerror(errno);
  errno = 0;
  EXPECT_EQ(::mkdir((mountpoint_ / "data/newdir").c_str(), 0755), -1);
  EXPECT_EQ(errno, EROFS) << std::strerror(errno);
  errno = 0;
  EXPECT_EQ(::unlink(a.c_str()), -1);
  EXPECT_EQ(errno, EROFS) << std::strerror(errno);
  EXPECT_TRUE(fs::exists(cluster_->ufs_root() / "data/a.bin"));
}

TEST_F(FuseMountTest, UnmountStopsTheDaemonAndTheMountPointCanBeMountedAgain) {
  auto m = Mount();
  ASSERT_EQ(m.exit_code, 0) << m.output << m.errors;
  const pid_t pid = DaemonPid();
  ASSERT_GT(pid, 0);
  const auto busy = Mount();
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_NE(busy.errors.find("busy"), std::string::npos) << busy.errors;

  const auto u = Unmount();
  ASSERT_EQ(u.exit_code, 0) << u.output << u.errors;
  EXPECT_FALSE(Mounted(mountpoint_));
  EXPECT_FALSE(cli::IsAlive(pid)) << "the daemon is still running";
  const auto again = Unmount();
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.errors.find("nothing is mounted"), std::string::npos) << again.errors;

  m = Mount();
  ASSERT_EQ(m.exit_code, 0) << m.output << m.errors;
  EXPECT_EQ(ReadFile(mountpoint_ / "data/one").size(), 1u);
}

TEST_F(FuseMountTest, SigtermUnmountsCleanly) {
  const auto m = Mount();
  ASSERT_EQ(m.exit_code, 0) << m.output << m.errors;
  const pid_t pid = DaemonPid();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  EXPECT_TRUE(testing::Eventually([&] { return !Mounted(mountpoint_); }, 10s));
  EXPECT_TRUE(testing::Eventually([&] { return !cli::IsAlive(pid); }, 10s));
  struct stat st {};
  EXPECT_EQ(::stat(mountpoint_.c_str(), &st), 0) << "no dead mount left: " << std::strerror(errno);
}

TEST_F(FuseMountTest, ADeadDaemonsMountIsReportedAndUnmountCleansItUp) {
  auto m = Mount();
  ASSERT_EQ(m.exit_code, 0) << m.output << m.errors;
  const pid_t pid = DaemonPid();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ASSERT_TRUE(testing::Eventually([&] { return !cli::IsAlive(pid); }, 10s));
  struct statfs fs {};  // stat may be answered from attributes the kernel cached
  EXPECT_EQ(::statfs(mountpoint_.c_str(), &fs), -1);
  EXPECT_TRUE(errno == ENOTCONN || errno == ECONNABORTED) << std::strerror(errno);

  m = Mount();
  EXPECT_EQ(m.exit_code, 1);
  EXPECT_NE(m.errors.find("daemon has died"), std::string::npos) << m.errors;
  const auto u = Unmount();
  ASSERT_EQ(u.exit_code, 0) << u.output << u.errors;
  EXPECT_FALSE(Mounted(mountpoint_));
  m = Mount();
  ASSERT_EQ(m.exit_code, 0) << m.output << m.errors;
  EXPECT_EQ(ReadFile(mountpoint_ / "data/one").size(), 1u);
}

TEST_F(FuseMountTest, BadMountPointsGetClearErrors) {
  auto r = cluster_->Cli(fmt::format("fuse mount {} --run-dir {}",
                                     (dir_.path() / "missing").string(), run_dir_.string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.errors.find("does not exist"), std::string::npos) << r.errors;
  WriteRandomFile(dir_.path() / "file", 1, 1);
  r = cluster_->Cli(fmt::format("fuse mount {} --run-dir {}", (dir_.path() / "file").string(),
                                run_dir_.string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.errors.find("not a directory"), std::string::npos) << r.errors;
  // Refused by libfuse in the daemon: the command shows why from the daemon's log.
  r = Mount("-o no_such_option");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.errors.find("exited before mounting"), std::string::npos) << r.errors;
  EXPECT_NE(r.errors.find("no_such_option"), std::string::npos) << r.errors;
  r = cluster_->Cli(fmt::format("fuse mount {} -o attr_timeout=soon", mountpoint_.string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.errors.find("attr_timeout"), std::string::npos) << r.errors;
  EXPECT_FALSE(Mounted(mountpoint_));
}

}  // namespace
}  // namespace alluvium::fuse
