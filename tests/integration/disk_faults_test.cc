// Disk faults end to end (issue 5, "nothing lost"): pages in a worker's region files damaged
// behind its back (data bytes flipped, zeroed or replaced by another page's, a record replaced by
// another whole record, a record header torn, a region file truncated or deleted; while running,
// while read, while the worker is down) are never served and are refetched from the UFS; a worker
// whose cache disk is really full (a small tmpfs) or whose configured capacity is small keeps
// loading by eviction, reports true per-file errors when nothing can be evicted, and stays up. Real
// processes on 127.0.0.1; the tmpfs tests need root (CI runs as root) and skip otherwise.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <latch>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/process.h"
#include "integration/local_cluster.h"
#include "pagestore/page_key.h"
#include "pagestore/page_record.h"
#include "pagestore/region_file.h"
#include "testing/eventually.h"
#include "testing/scoped_tmpfs.h"

namespace alluvium::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr uint64_t kPage = 64 << 10;
// The test reads and writes records raw.
constexpr uint64_t kRecordHeader = pagestore::kRecordHeaderSize;
constexpr uint64_t kFullRecord = pagestore::RecordBytes(kPage);

// Totals over the whole run, printed once at the end (see SummaryEnvironment).
struct Totals {
  std::atomic<uint64_t> pages_damaged{0};
  std::atomic<uint64_t> files_compared{0};
  std::atomic<uint64_t> bytes_compared{0};
  std::atomic<uint64_t> wrong_bytes{0};
};

Totals& SuiteTotals() {
  static Totals totals;
  return totals;
}

class SummaryEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    const Totals& t = SuiteTotals();
    std::printf(
        "disk-fault suite: %llu pages corrupted/truncated/deleted, %llu files compared, %llu "
        "bytes compared, %llu wrong bytes served\n",
        static_cast<unsigned long long>(t.pages_damaged.load()),
        static_cast<unsigned long long>(t.files_compared.load()),
        static_cast<unsigned long long>(t.bytes_compared.load()),
        static_cast<unsigned long long>(t.wrong_bytes.load()));
  }
};

[[maybe_unused]] ::testing::Environment* const kSummary =
    ::testing::AddGlobalTestEnvironment(new SummaryEnvironment);

// Reads the whole file through the cache and compares it with `want`. Counts every wrong byte
// (differing, missing or extra) in the suite totals; a read error is a failure of its own.
Result<client::ReadStats> ReadAndCompare(client::Client& client, const std::string& path,
                                         const std::string& want) {
  std::string got;
  got.reserve(want.size());
  auto stats = client.Read(path, 0, UINT64_MAX, [&](std::span<const std::byte> d) {
    got.append(reinterpret_cast<const char*>(d.data()), d.size());
    return OkStatus();
  });
  if (!stats.ok()) return stats;
  uint64_t wrong = got.size() > want.size() ? got.size() - want.size() : want.size() - got.size();
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) wrong += got[i] != want[i];
  Totals& t = SuiteTotals();
  t.files_compared.fetch_add(1);
  t.bytes_compared.fetch_add(got.size());
  t.wrong_bytes.fetch_add(wrong);
  if (wrong != 0) {
    return DataLoss(fmt::format("{}: {} wrong bytes ({} read, {} expected)", path, wrong,
                                got.size(), want.size()));
  }
  return stats;
}

// Reads every file once, each compared whole, in path order (or the reverse); returns bytes from
// the UFS per path.
std::map<std::string, uint64_t> ReadAll(client::Client& client,
                                        const std::map<std::string, std::string>& files,
                                        bool reverse = false) {
  std::map<std::string, uint64_t> from_ufs;
  auto read = [&](const std::string& path, const std::string& bytes) {
    auto stats = ReadAndCompare(client, path, bytes);
    EXPECT_TRUE(stats.ok()) << stats.status();
    if (stats.ok()) from_ufs[path] = stats->bytes_from_ufs;
  };
  if (reverse) {
    for (auto it = files.rbegin(); it != files.rend(); ++it) read(it->first, it->second);
  } else {
    for (const auto& [path, bytes] : files) read(path, bytes);
  }
  return from_ufs;
}

uint64_t Sum(const std::map<std::string, uint64_t>& m) {
  uint64_t total = 0;
  for (const auto& [k, v] : m) total += v;
  return total;
}

// The value of an unlabelled metric in Prometheus text, 0 if absent.
uint64_t Metric(const std::string& text, std::string_view name) {
  size_t pos = 0;
  while ((pos = text.find(name, pos)) != std::string::npos) {
    const bool line_start = pos == 0 || text[pos - 1] == '\n';
    const size_t after = pos + name.size();
    if (line_start && after < text.size() && text[after] == ' ') {
      return std::strtoull(text.c_str() + after + 1, nullptr, 10);
    }
    pos = after;
  }
  return 0;
}

std::string ReadWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Overwrites bytes of an existing file in place (same inode, as a failing disk would).
void WriteInPlace(const fs::path& path, uint64_t offset, std::string_view bytes,
                  bool truncate = false) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | (truncate ? O_TRUNC : 0));
  if (fd < 0) return;  // gone (a deleted region): nothing to damage
  (void)!::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
  ::close(fd);
}

std::string ReadRange(const fs::path& path, uint64_t offset, uint64_t length) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::string bytes(length, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(length));
  bytes.resize(static_cast<size_t>(in.gcount()));
  return bytes;
}

// The records of a region file that a worker's startup scan would index.
std::vector<pagestore::ScannedRecord> ScanRegion(const fs::path& path) {
  const std::string head = ReadRange(path, 0, pagestore::kRegionHeaderSize);
  if (head.size() != pagestore::kRegionHeaderSize) return {};
  const auto header =
      pagestore::DecodeRegionHeader(std::span<const std::byte, pagestore::kRegionHeaderSize>(
          reinterpret_cast<const std::byte*>(head.data()), head.size()));
  if (!header) return {};
  auto file = pagestore::RegionFile::Open(path, header->region_size);
  if (!file.ok()) return {};
  return file->Scan(kPage).records;
}

enum class Damage {
  kFlipMiddle,    // a few bytes in the middle of the data inverted
  kZeroData,      // the data zeroed (stale blocks after a power loss)
  kReplaceData,   // another page's data under this record's header
  kReplaceWhole,  // another page's whole record (header and data) in this one's place
  kTruncate,      // the region file cut at this record: it and every later record lose bytes
  kZeroHeader,    // the record header zeroed, as a torn write leaves it
  kDelete,        // the region file unlinked
};
constexpr Damage kAllDamages[] = {Damage::kFlipMiddle,   Damage::kZeroData, Damage::kReplaceData,
                                  Damage::kReplaceWhole, Damage::kTruncate, Damage::kZeroHeader,
                                  Damage::kDelete};

// One page record in one region file of one worker, and what it holds.
struct PageRecord {
  int worker = 0;
  fs::path region;
  uint64_t offset = 0;     // of the record header in the region file
  std::string cache_path;  // the file it is a page of
  uint64_t index = 0;
  uint64_t length = 0;  // data bytes
};

// Applies the damage to `victim`; `donor` is another full page's whole record.
void Apply(Damage damage, const PageRecord& victim, const std::string& donor) {
  const uint64_t data = victim.offset + pagestore::RecordDataOffset(victim.length);
  switch (damage) {
    case Damage::kFlipMiddle: {
      const uint64_t mid = data + victim.length / 2;
      std::string flipped =
          ReadRange(victim.region, mid, std::min<uint64_t>(4, victim.length / 2 + 1));
      for (char& c : flipped) c = static_cast<char>(~c);
      WriteInPlace(victim.region, mid, flipped);
      break;
    }
    case Damage::kZeroData:
      WriteInPlace(victim.region, data, std::string(victim.length, '\0'));
      break;
    case Damage::kReplaceData:
      WriteInPlace(victim.region, data,
                   std::string_view(donor).substr(pagestore::RecordDataOffset(kPage)));
      break;
    case Damage::kReplaceWhole:
      WriteInPlace(victim.region, victim.offset, donor);
      break;
    case Damage::kTruncate:
      (void)::truncate(victim.region.c_str(), static_cast<off_t>(victim.offset));
      break;
    case Damage::kZeroHeader:
      WriteInPlace(victim.region, victim.offset, std::string(kRecordHeader, '\0'));
      break;
    case Damage::kDelete:
      (void)::unlink(victim.region.c_str());
      break;
  }
}

class DiskFaultsTest : public ::testing::Test {
 protected:
  // `before_start` runs once the cluster's dirs exist, before any process starts.
  void Start(int workers, std::vector<std::string> extra = {},
             std::map<int, std::vector<std::string>> worker_conf = {},
             const std::function<void(LocalCluster&)>& before_start = nullptr) {
    std::vector<std::string> conf = {"alluvium.worker.page.store.page.size=64KB",
                                     "alluvium.user.file.segment.size=256KB"};
    conf.insert(conf.end(), extra.begin(), extra.end());
    cluster_ = std::make_unique<LocalCluster>(LocalClusterOptions{
        .workers = workers, .conf = conf, .worker_conf = std::move(worker_conf)});
    if (before_start) before_start(*cluster_);
    if (HasFatalFailure() || IsSkipped()) return;
    const Status started = cluster_->Start();
    ASSERT_TRUE(started.ok()) << started;
    auto client = cluster_->NewClient();
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  // Files of assorted sizes under /<dir>: tiny, page-sized, a page and a bit, multi-segment.
  std::map<std::string, std::string> MakeDataset(const std::string& dir, int files,
                                                 uint32_t seed = 1) {
    static constexpr size_t kSizes[] = {1,       100,     kPage - 1, kPage,     kPage + 1,
                                        300'000, 700'000, 1'000'000, 1'500'000, 2'000'000};
    std::map<std::string, std::string> out;
    for (int i = 0; i < files; ++i) {
      const std::string name = fmt::format("/{}/d{}/f{}.bin", dir, i % 3, i);
      out[name] =
          WriteRandomFile(cluster_->ufs_root() / name.substr(1), kSizes[i % 10], seed * 1000 + i);
    }
    return out;
  }

  // Files of one size, for the disk-full cases.
  std::map<std::string, std::string> MakeUniform(const std::string& dir, int files, size_t size) {
    std::map<std::string, std::string> out;
    for (int i = 0; i < files; ++i) {
      const std::string name = fmt::format("/{}/f{:03}.bin", dir, i);
      out[name] = WriteRandomFile(cluster_->ufs_root() / name.substr(1), size, 7000 + i);
    }
    return out;
  }

  // `job load <path>` through the CLI, as a user would run it, then its progress until it ends:
  // exit_code as `--wait` gives it (0 SUCCEEDED, 1 FAILED, 3 STOPPED), or -1 if it has not ended
  // within 90 s or a worker process died (`--wait` itself would wait forever if no worker were
  // left), and the CLI's progress report as output.
  CommandResult LoadAndWait(const std::string& path, const std::string& flags = "") {
    CommandResult submit = cluster_->Cli("job load " + path + " " + flags);
    if (submit.exit_code != 0) return submit;
    std::string state;
    const bool ended = Eventually(
        [&] {
          state = Progress(path).value("mJobState", "");
          if (state == "SUCCEEDED" || state == "FAILED" || state == "STOPPED") return true;
          for (int i = 0; i < cluster_->worker_count(); ++i) {
            const pid_t pid = cluster_->worker_pid(i);
            if (pid > 0 && !cli::IsAlive(pid)) return true;  // a worker died: fail fast
          }
          std::this_thread::sleep_for(50ms);
          return false;
        },
        90s);
    CommandResult report = cluster_->Cli("job load " + path + " --progress");
    report.exit_code = !ended ? -1 : state == "SUCCEEDED" ? 0 : state == "FAILED" ? 1 : 3;
    return report;
  }

  json Progress(const std::string& path) { return cluster_->LoadProgress({{"path", path}}); }

  std::string WorkerAddress(int i) const {
    std::ifstream in(cluster_->worker_dir(i) / "rpc.port");
    std::string port;
    in >> port;
    return "127.0.0.1:" + port;
  }

  std::string WorkerMetrics(int i) {
    auto text = client_->WorkerMetrics(WorkerAddress(i));
    EXPECT_TRUE(text.ok()) << text.status();
    return text.ok() ? *text : std::string();
  }

  uint64_t WorkerMetric(int i, std::string_view name) { return Metric(WorkerMetrics(i), name); }

  uint64_t SumMetric(std::string_view name) {
    uint64_t total = 0;
    for (int i = 0; i < cluster_->worker_count(); ++i) total += WorkerMetric(i, name);
    return total;
  }

  // The worker process is alive and the coordinator lists it live at its address.
  ::testing::AssertionResult WorkerUp(int i) {
    if (!cli::IsAlive(cluster_->worker_pid(i))) {
      return ::testing::AssertionFailure() << "worker " << i << " exited";
    }
    auto workers = client_->ListWorkers();
    if (!workers.ok()) return ::testing::AssertionFailure() << workers.status();
    const std::string address = WorkerAddress(i);
    for (const auto& w : *workers) {
      if (w.address == address && w.live) return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "worker " << i << " is not live in the ring";
  }

  // Pages worker i's heartbeat reports, once two reports 400 ms apart agree.
  uint64_t IndexedPages(int i) {
    uint64_t pages = 0;
    EXPECT_TRUE(Eventually(
        [&] {
          auto a = client_->ListWorkers();
          std::this_thread::sleep_for(400ms);
          auto b = client_->ListWorkers();
          if (!a.ok() || !b.ok()) return false;
          uint64_t pa = UINT64_MAX, pb = UINT64_MAX - 1;
          for (const auto& w : *a) pa = w.address == WorkerAddress(i) ? w.pages : pa;
          for (const auto& w : *b) pb = w.address == WorkerAddress(i) ? w.pages : pb;
          pages = pb;
          return pa == pb;
        },
        10s));
    return pages;
  }

  fs::path PagesRoot(int i) const { return cluster_->worker_dir(i) / "pages"; }

  // Every page record of the given workers that a startup scan would index, attributed to the
  // dataset's files, in region and offset order.
  std::vector<PageRecord> ListPageRecords(const std::map<std::string, std::string>& files,
                                          const std::vector<int>& workers,
                                          const fs::path& pages_root = {}) {
    std::map<std::string, std::string>& path_of_id = path_of_id_;
    if (path_of_id.size() < files.size()) {
      path_of_id.clear();
      for (const auto& [path, bytes] : files) {
        auto info = client_->GetStatus(path);
        EXPECT_TRUE(info.ok()) << info.status();
        if (info.ok()) path_of_id[pagestore::FileIdOf(info->uri, info->version).ToHex()] = path;
      }
    }
    std::vector<PageRecord> records;
    for (int w : workers) {
      std::error_code ec;
      const fs::path root = pages_root.empty() ? PagesRoot(w) : pages_root;
      for (fs::directory_iterator it(root / "regions", ec), end; !ec && it != end;
           it.increment(ec)) {
        for (const pagestore::ScannedRecord& r : ScanRegion(it->path())) {
          auto owner = path_of_id.find(r.header.key.file.ToHex());
          if (owner == path_of_id.end()) continue;
          records.push_back({.worker = w,
                             .region = it->path(),
                             .offset = r.offset,
                             .cache_path = owner->second,
                             .index = r.header.key.index,
                             .length = r.header.length});
        }
      }
    }
    std::sort(records.begin(), records.end(), [](const PageRecord& a, const PageRecord& b) {
      return std::tie(a.region, a.offset) < std::tie(b.region, b.offset);
    });
    return records;
  }

  // Damages `count` of the records with every kind of damage in turn (a fixed shuffle), donors
  // taken from undamaged full pages of other regions. Returns per file the bytes that must now
  // come from the UFS, with the worker running (`worker_down` false: it reads through its open
  // descriptors and its in-memory index) or restarted after the damage (true: its startup scan
  // stops at a torn, replaced or cut record and loses the rest of that region, and a deleted
  // region whole). `by_checksum`: pages whose bytes only a failed read can reveal.
  std::map<std::string, uint64_t> DamagePages(std::vector<PageRecord> records, size_t count,
                                              uint32_t seed, bool worker_down,
                                              uint64_t* by_checksum = nullptr,
                                              uint64_t* damaged_files = nullptr) {
    std::mt19937 random(seed);
    std::vector<PageRecord> shuffled = records;
    std::shuffle(shuffled.begin(), shuffled.end(), random);
    count = std::min(count, shuffled.size());
    struct Planned {
      PageRecord victim;
      Damage damage;
      std::string donor;
    };
    std::vector<Planned> plan;
    for (size_t i = 0; i < count; ++i) {
      const PageRecord& victim = shuffled[i];
      Damage d = kAllDamages[i % std::size(kAllDamages)];
      std::string donor;
      if (d == Damage::kReplaceWhole || d == Damage::kReplaceData) {
        // A full page beyond the damaged ones, in another region (so another epoch).
        for (size_t j = count; j < shuffled.size() && donor.empty(); ++j) {
          if (shuffled[j].length == kPage && shuffled[j].region != victim.region) {
            donor = ReadRange(shuffled[j].region, shuffled[j].offset, kFullRecord);
          }
        }
        if (donor.size() != kFullRecord || victim.length != kPage) d = Damage::kFlipMiddle;
      }
      plan.push_back({victim, d, std::move(donor)});
    }
    // Deletions last: damage aimed at a deleted file would be lost, not applied.
    std::stable_partition(plan.begin(), plan.end(),
                          [](const Planned& p) { return p.damage != Damage::kDelete; });
    for (const Planned& p : plan) Apply(p.damage, p.victim, p.donor);

    // Where each region's records stop being served, and which single pages fail verification.
    std::map<fs::path, uint64_t> cut;  // region -> first offset lost
    std::set<std::pair<fs::path, uint64_t>> bad_data;
    for (const Planned& p : plan) {
      const auto at = [&](uint64_t offset) {
        auto [it, fresh] = cut.try_emplace(p.victim.region, offset);
        if (!fresh) it->second = std::min(it->second, offset);
      };
      switch (p.damage) {
        case Damage::kTruncate:
          at(p.victim.offset);
          break;
        case Damage::kDelete:
          if (worker_down) at(0);
          break;
        case Damage::kZeroHeader:
          if (worker_down) at(p.victim.offset);
          break;
        case Damage::kReplaceWhole:
          if (worker_down) {
            at(p.victim.offset);
          } else {
            bad_data.insert({p.victim.region, p.victim.offset});
          }
          break;
        default:
          bad_data.insert({p.victim.region, p.victim.offset});
      }
    }
    std::map<std::string, uint64_t> expect_ufs;
    std::set<std::string> files;
    uint64_t checksum_only = 0;
    for (const PageRecord& r : records) {
      auto c = cut.find(r.region);
      const bool cut_off = c != cut.end() && r.offset >= c->second;
      const bool bad = bad_data.contains({r.region, r.offset});
      if (!cut_off && !bad) continue;
      expect_ufs[r.cache_path] += r.length;
      // A running worker finds cut-off pages by a failed read too; a restarted one never indexes
      // them.
      checksum_only += !worker_down || !cut_off ? 1 : 0;
    }
    SuiteTotals().pages_damaged.fetch_add(count);
    if (by_checksum != nullptr) *by_checksum = checksum_only;
    if (damaged_files != nullptr) *damaged_files = expect_ufs.size();
    return expect_ufs;
  }

  // Every file read twice: the first read returns correct bytes, taking from the UFS exactly
  // what `expect_ufs` says; the second is served wholly from the cache again.
  void ExpectRefetchedThenCached(const std::map<std::string, std::string>& files,
                                 const std::map<std::string, uint64_t>& expect_ufs) {
    const std::map<std::string, uint64_t> first = ReadAll(*client_, files);
    for (const auto& [path, bytes] : files) {
      const auto it = expect_ufs.find(path);
      EXPECT_EQ(first.count(path) ? first.at(path) : UINT64_MAX,
                it == expect_ufs.end() ? 0 : it->second)
          << path << ": bytes from the UFS on the read after the damage";
    }
    const std::map<std::string, uint64_t> second = ReadAll(*client_, files);
    EXPECT_EQ(Sum(second), 0u) << "the refetched pages should be cached again";
  }

  // After a worker restart, what its store serves. A client that held the killed worker's
  // short-circuit descriptors may read pages through them until its next hang-up check (up to
  // 100 ms, docs/page-store.md): right bytes, but not the restarted worker's, so a new client.
  void ReconnectClient() {
    auto client = cluster_->NewClient();
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<client::Client> client_;
  std::map<std::string, std::string> path_of_id_;  // file id hex -> cache path, for one dataset
};

// --- Corruption -------------------------------------------------------------------------------

TEST_F(DiskFaultsTest, DamagedPagesAreNeverServedAndAreRefetchedFromUfs) {
  Start(2);
  ASSERT_FALSE(HasFatalFailure());
  const auto files = MakeDataset("corrupt", 20);
  const CommandResult load = LoadAndWait("/corrupt");
  ASSERT_EQ(load.exit_code, 0) << load.output << load.errors;
  EXPECT_EQ(Sum(ReadAll(*client_, files)), 0u) << "everything should be cached after the load";

  const std::vector<PageRecord> pages = ListPageRecords(files, {0, 1});
  ASSERT_GE(pages.size(), 60u);
  const uint64_t failures_before = SumMetric("alluvium_worker_page_store_checksum_failures_total");
  const uint64_t ufs_bytes_before = SumMetric("alluvium_worker_read_ufs_bytes_total");
  uint64_t by_checksum = 0, damaged_files = 0;
  const auto expect_ufs =
      DamagePages(pages, 42, 11, /*worker_down=*/false, &by_checksum, &damaged_files);
  EXPECT_GT(damaged_files, 5u);

  ExpectRefetchedThenCached(files, expect_ufs);
  // Every page whose bytes changed failed verification once (torn headers and deleted region
  // files change nothing a running worker reads: it keeps its index and its descriptors).
  EXPECT_EQ(SumMetric("alluvium_worker_page_store_checksum_failures_total") - failures_before,
            by_checksum);
  EXPECT_EQ(SumMetric("alluvium_worker_read_ufs_bytes_total") - ufs_bytes_before, Sum(expect_ufs));
  EXPECT_TRUE(WorkerUp(0));
  EXPECT_TRUE(WorkerUp(1));
}

TEST_F(DiskFaultsTest, PagesDamagedDuringConcurrentReadsAreNeverServed) {
  Start(2);
  ASSERT_FALSE(HasFatalFailure());
  const auto files = MakeDataset("busy", 12, 2);
  const CommandResult load = LoadAndWait("/busy");
  ASSERT_EQ(load.exit_code, 0) << load.output << load.errors;
  std::vector<std::string> paths;
  for (const auto& [p, b] : files) paths.push_back(p);

  // Readers go round the dataset until the damage is done; every byte they get is checked.
  constexpr int kReaders = 3;
  constexpr int kDamageRounds = 70;
  std::atomic<bool> damaging{true};
  std::atomic<uint64_t> read_errors{0}, reads{0};
  std::latch start(kReaders + 1);
  std::vector<std::jthread> threads;
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      auto client = cluster_->NewClient();
      start.arrive_and_wait();
      if (!client.ok()) {
        ADD_FAILURE() << client.status();
        return;
      }
      std::mt19937 random(r);
      do {
        std::vector<std::string> order = paths;
        std::shuffle(order.begin(), order.end(), random);
        for (const std::string& p : order) {
          auto stats = ReadAndCompare(**client, p, files.at(p));
          reads.fetch_add(1);
          if (!stats.ok()) {
            read_errors.fetch_add(1);
            ADD_FAILURE() << stats.status();
          }
        }
      } while (damaging.load());
    });
  }
  const uint64_t failures_before = SumMetric("alluvium_worker_page_store_checksum_failures_total");
  uint64_t damaged = 0;
  {
    start.arrive_and_wait();
    std::mt19937 random(99);
    for (int round = 0; round < kDamageRounds; ++round) {
      // Relisted each round: pages come back (refetched) under the same names.
      std::vector<PageRecord> pages = ListPageRecords(files, {0, 1});
      if (pages.size() < 2) continue;
      const PageRecord& victim = pages[random() % pages.size()];
      std::string donor;
      for (const PageRecord& p : pages) {
        if (p.length == kPage && p.region != victim.region) {
          donor = ReadRange(p.region, p.offset, kFullRecord);
          break;
        }
      }
      Damage d = kAllDamages[round % std::size(kAllDamages)];
      if ((d == Damage::kReplaceWhole || d == Damage::kReplaceData) &&
          (donor.size() != kFullRecord || victim.length != kPage)) {
        d = Damage::kFlipMiddle;
      }
      Apply(d, victim, donor);
      ++damaged;
      std::this_thread::sleep_for(3ms);
    }
    damaging = false;
  }
  threads.clear();
  SuiteTotals().pages_damaged.fetch_add(damaged);
  EXPECT_EQ(read_errors.load(), 0u);
  EXPECT_GT(reads.load(), paths.size() * kReaders);
  EXPECT_GT(SumMetric("alluvium_worker_page_store_checksum_failures_total"), failures_before);
  // Quiet again: one read repairs what is left damaged, the next is all from the cache.
  ReadAll(*client_, files);
  EXPECT_EQ(Sum(ReadAll(*client_, files)), 0u);
  EXPECT_TRUE(WorkerUp(0));
  EXPECT_TRUE(WorkerUp(1));
}

TEST_F(DiskFaultsTest, WorkerRestartedAfterItsPagesWereDamagedWhileDownServesNoBadPage) {
  Start(2);
  ASSERT_FALSE(HasFatalFailure());
  const auto files = MakeDataset("restart", 20, 3);
  const CommandResult load = LoadAndWait("/restart");
  ASSERT_EQ(load.exit_code, 0) << load.output << load.errors;

  // Down hard, damaged while down, back up: its startup scan and its reads must catch it all.
  cluster_->SignalWorker(0, SIGKILL);
  const std::vector<PageRecord> pages = ListPageRecords(files, {0});
  ASSERT_GE(pages.size(), 20u);
  uint64_t by_checksum = 0;
  const auto expect_ufs =
      DamagePages(pages, pages.size() / 4, 12, /*worker_down=*/true, &by_checksum);
  ASSERT_TRUE(cluster_->StartWorker(0).ok());
  ASSERT_TRUE(cluster_->WaitForLiveWorkers(2, 10s).ok());
  ReconnectClient();
  ExpectRefetchedThenCached(files, expect_ufs);
  // Damage the startup scan sees (record headers, region files) is dropped there with the rest
  // of its region; damaged data fails on read.
  EXPECT_EQ(WorkerMetric(0, "alluvium_worker_page_store_checksum_failures_total"), by_checksum);

  // Down again; this time its store.meta and its metadata store (RocksDB) are damaged too.
  cluster_->SignalWorker(0, SIGKILL);
  const std::vector<PageRecord> left = ListPageRecords(files, {0});
  // A page refetched after the first damage has a newer record beside its damaged one: count
  // each page once.
  std::map<std::pair<std::string, uint64_t>, uint64_t> worker0_pages;
  for (const PageRecord& p : left) worker0_pages[{p.cache_path, p.index}] = p.length;
  uint64_t worker0_bytes = 0;
  for (const auto& [key, length] : worker0_pages) worker0_bytes += length;
  DamagePages(left, 6, 13, /*worker_down=*/true);
  WriteInPlace(PagesRoot(0) / "store.meta", 0, "garbage\n", /*truncate=*/true);
  for (const auto& entry : fs::directory_iterator(cluster_->worker_dir(0) / "metastore")) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("MANIFEST") || name == "CURRENT") {
      WriteInPlace(entry.path(), 0, std::string(64, '\x5a'));
    }
  }
  const fs::path log = cluster_->worker_dir(0).parent_path() / "worker-0.log";
  const Status restarted = cluster_->StartWorker(0);
  ASSERT_TRUE(restarted.ok()) << restarted << "\n" << ReadWholeFile(log);
  ASSERT_TRUE(cluster_->WaitForLiveWorkers(2, 10s).ok());
  ReconnectClient();
  // It came up by starting its metadata store afresh, not by missing the damage.
  EXPECT_NE(ReadWholeFile(log).find("is damaged"), std::string::npos);
  // An unreadable store.meta means unknown page and region sizes: every page of worker 0 is
  // dropped, so its
  // files come from the UFS again; nothing wrong is served, and the cache fills up again.
  const std::map<std::string, uint64_t> first = ReadAll(*client_, files);
  EXPECT_EQ(Sum(first), worker0_bytes);
  EXPECT_EQ(Sum(ReadAll(*client_, files)), 0u);
  EXPECT_TRUE(WorkerUp(0));
}

// --- Capacity and full disks ------------------------------------------------------------------

TEST_F(DiskFaultsTest, ConfiguredCapacitySmallerThanTheDatasetEvictsAndReadsStayCorrect) {
  Start(2, {"alluvium.worker.page.store.size=2MB"});
  ASSERT_FALSE(HasFatalFailure());
  const auto files = MakeDataset("capacity", 20, 4);  // about 11 MB over 2 x 2 MB of cache
  // Larger than the caches: refused unless the user lets the job evict its own pages.
  const CommandResult refused = cluster_->Cli("job load /capacity");
  EXPECT_EQ(refused.exit_code, 1) << refused.output << refused.errors;
  EXPECT_NE(refused.errors.find("of this job exceed its"), std::string::npos) << refused.errors;
  const CommandResult load = LoadAndWait("/capacity", "--allow-eviction");
  EXPECT_EQ(load.exit_code, 0) << load.output << load.errors;
  EXPECT_GT(SumMetric("alluvium_worker_page_store_evictions_total"), 0u);
  auto workers = client_->ListWorkers();
  ASSERT_TRUE(workers.ok()) << workers.status();
  for (const auto& w : *workers) EXPECT_LE(w.used_bytes, uint64_t{2} << 20) << w.address;

  const auto from_ufs = ReadAll(*client_, files);
  EXPECT_GT(Sum(from_ufs), 0u) << "not everything fits, so some reads go to the UFS";
  ReadAll(*client_, files);  // and again, evicting as it goes
  // On disk: within capacity, and exactly the pages the index holds.
  const std::vector<PageRecord> pages = ListPageRecords(files, {0, 1});
  uint64_t bytes_on[2] = {0, 0}, pages_on[2] = {0, 0};
  for (const PageRecord& p : pages) bytes_on[p.worker] += p.length, ++pages_on[p.worker];
  for (int w = 0; w < 2; ++w) {
    EXPECT_LE(bytes_on[w], uint64_t{2} << 20) << "worker " << w;
    EXPECT_EQ(pages_on[w], IndexedPages(w)) << "worker " << w;
  }
  EXPECT_TRUE(WorkerUp(0));
  EXPECT_TRUE(WorkerUp(1));
}

// The cache dir of worker 0 is a real 16 MiB filesystem, while the page store is told it may use
// 1 GiB: it meets ENOSPC long before its own limit.
class FullDiskTest : public DiskFaultsTest {
 protected:
  static constexpr uint64_t kDiskBytes = 16 << 20;
  // Regions of 1 MiB, not the automatic 1/64 of 1 GiB, which would be the whole disk.
  static constexpr const char* kRegionSize = "alluvium.worker.page.store.region.size=1MB";

  void StartOnTmpfs(int workers) {
    if (!tmpfs_.mounted()) GTEST_SKIP() << tmpfs_.skip_reason();
    Start(workers, {"alluvium.worker.page.store.size=1GB", kRegionSize},
          {{0, {"alluvium.worker.page.store.dirs=" + tmpfs_.path().string()}}});
  }

  // Page records on the tmpfs that a startup scan would index, as the disk holds them.
  size_t RecordsOnDisk(const std::map<std::string, std::string>& files) {
    return ListPageRecords(files, {0}, tmpfs_.path()).size();
  }

  // Fills the tmpfs with a file of our own, leaving less than one page free.
  void FillDisk() { FillDisk(tmpfs_); }
  static void FillDisk(const ScopedTmpfs& disk) {
    ASSERT_NO_FATAL_FAILURE(disk.Fill());
    EXPECT_LT(disk.FreeBytes(), kPage);
  }

  // The worker must be gone before its disk is unmounted; the base's members die after ours.
  void TearDown() override {
    client_.reset();
    cluster_.reset();
    data_disk_.reset();
  }

  ScopedTmpfs tmpfs_{kDiskBytes};
  std::unique_ptr<ScopedTmpfs> data_disk_;  // a whole worker data dir on a small disk
};

TEST_F(FullDiskTest, LoadingMoreThanTheDiskHoldsEvictsOlderPages) {
  StartOnTmpfs(1);
  if (IsSkipped() || HasFatalFailure()) return;
  const auto files = MakeUniform("big", 40, 1 << 20);  // 40 MiB into 16 MiB
  const CommandResult load = LoadAndWait("/big", "--allow-eviction");
  const json progress = Progress("/big");
  // Eviction makes room: the job succeeds. (If it did not, the reasons would have to be true.)
  EXPECT_EQ(load.exit_code, 0) << load.output << progress.dump(1);
  EXPECT_EQ(progress.value("mFailedFileCount", -1), 0) << progress.dump(1);
  EXPECT_TRUE(WorkerUp(0));
  EXPECT_GT(WorkerMetric(0, "alluvium_worker_page_store_evictions_total"), 0u);
  // And it did so inside each page write: no item failed for want of space, so the job needed
  // no retries (which would have hidden such failures).
  EXPECT_EQ(WorkerMetric(0, "alluvium_worker_load_failures_total"), 0u);
  EXPECT_EQ(progress.value("mRetrySubTasksPercentage", -1.0), 0.0) << progress.dump(1);

  // The index and the disk agree: no half-written page, nothing counted twice.
  EXPECT_EQ(IndexedPages(0), RecordsOnDisk(files));
  EXPECT_GT(RecordsOnDisk(files), 100u) << "the disk should be mostly full of pages";

  // It keeps serving: what it holds from the cache, the rest from the UFS, all correct.
  // Newest first: in load order, each miss would evict the next file to read (an LRU scan).
  const auto from_ufs = ReadAll(*client_, files, /*reverse=*/true);
  uint64_t total = 0;
  for (const auto& [p, b] : files) total += b.size();
  EXPECT_LT(Sum(from_ufs), total) << "some reads should hit the cache";
  EXPECT_GT(Sum(from_ufs), 0u);
  EXPECT_TRUE(WorkerUp(0));
  EXPECT_EQ(IndexedPages(0), RecordsOnDisk(files));
}

TEST_F(FullDiskTest, ALoadLargerThanTheDiskFailsNamingTheWorkerInsteadOfEvictingItself) {
  StartOnTmpfs(1);
  if (IsSkipped() || HasFatalFailure()) return;
  const auto files = MakeUniform("toobig", 40, 1 << 20);  // 40 MiB into 16 MiB
  const CommandResult load = LoadAndWait("/toobig");
  const json progress = Progress("/toobig");
  EXPECT_EQ(load.exit_code, 1) << load.output << progress.dump(1);
  const std::string reason = progress.value("mFailureReason", "");
  EXPECT_NE(reason.find("of this job exceed its"), std::string::npos) << progress.dump(1);
  EXPECT_EQ(WorkerMetric(0, "alluvium_worker_page_store_evictions_total"), 0u);
  // What did load stays: every file not reported failed is read wholly from the cache.
  const json failed = progress.value("mFailedFilesWithReasons", json::object());
  std::map<std::string, std::string> loaded;
  for (const auto& [path, bytes] : files) {
    if (!failed.contains("file://" + (cluster_->ufs_root() / path.substr(1)).string())) {
      loaded[path] = bytes;
    }
  }
  EXPECT_GT(loaded.size(), 5u) << progress.dump(1);
  EXPECT_EQ(Sum(ReadAll(*client_, loaded)), 0u);
  EXPECT_TRUE(WorkerUp(0));
}

TEST_F(FullDiskTest, DiskFilledByAnotherProgramMakesTheLoadWaitAndItFinishesOnceFreed) {
  StartOnTmpfs(1);
  if (IsSkipped() || HasFatalFailure()) return;
  FillDisk();
  const auto files = MakeUniform("nospace", 4, 300'000);
  const CommandResult submit = cluster_->Cli("job load /nospace");
  ASSERT_EQ(submit.exit_code, 0) << submit.output << submit.errors;
  // The worker answers RESOURCE_EXHAUSTED; the job backs off and says so instead of failing.
  json progress;
  ASSERT_TRUE(Eventually(
      [&] {
        progress = Progress("/nospace");
        return progress.contains("waitingForSpace");
      },
      30s))
      << progress.dump(1);
  const std::string why = progress["waitingForSpace"].begin().value().get<std::string>();
  EXPECT_NE(why.find("No space left on device"), std::string::npos) << why;
  EXPECT_EQ(progress.value("mJobState", ""), "RUNNING");
  const CommandResult report = cluster_->Cli("job load /nospace --progress");
  EXPECT_NE(report.output.find("Waiting for space: "), std::string::npos) << report.output;

  tmpfs_.Unfill();
  const json done = cluster_->WaitLoadEnded({{"path", "/nospace"}}, 60s);
  EXPECT_EQ(done.value("mJobState", ""), "SUCCEEDED") << done.dump(1);
  EXPECT_FALSE(done.contains("waitingForSpace")) << done.dump(1);
  EXPECT_GT(done.value("mRetrySubTasksPercentage", 0.0), 0.0) << done.dump(1);
  EXPECT_EQ(Sum(ReadAll(*client_, files)), 0u);
  EXPECT_TRUE(WorkerUp(0));
}

TEST_F(FullDiskTest, DiskFilledByAnotherProgramMidLoadMakesTheLoadWaitNotFail) {
  // A store the disk can hold (12 MB on 16 MiB): a full disk is someone else's doing.
  if (!tmpfs_.mounted()) GTEST_SKIP() << tmpfs_.skip_reason();
  Start(1, {"alluvium.worker.page.store.size=12MB", kRegionSize},
        {{0, {"alluvium.worker.page.store.dirs=" + tmpfs_.path().string()}}});
  if (HasFatalFailure()) return;
  const auto files = MakeUniform("midload", 8, 1 << 20);  // 8 MiB, at 512 KB/s: 16 s
  const CommandResult submit = cluster_->Cli("job load /midload --bandwidth 512KB");
  ASSERT_EQ(submit.exit_code, 0) << submit.output << submit.errors;
  json progress;
  ASSERT_TRUE(Eventually(
      [&] {
        progress = Progress("/midload");
        return progress.value("mLoadedByteCount", 0u) >= (1u << 20);
      },
      30s))
      << progress.dump(1);
  // Another program takes the rest of the disk while the job runs: the job's own pages fill
  // nothing the store was not allowed; the job waits for room rather than fail its files.
  FillDisk();
  ASSERT_TRUE(Eventually(
      [&] {
        progress = Progress("/midload");
        return progress.contains("waitingForSpace") || progress.value("mJobState", "") != "RUNNING";
      },
      60s))
      << progress.dump(1);
  ASSERT_EQ(progress.value("mJobState", ""), "RUNNING") << progress.dump(1);
  EXPECT_EQ(progress.value("mFailedFileCount", -1), 0) << progress.dump(1);

  tmpfs_.Unfill();
  const json done = cluster_->WaitLoadEnded({{"path", "/midload"}}, 60s);
  EXPECT_EQ(done.value("mJobState", ""), "SUCCEEDED") << done.dump(1);
  EXPECT_EQ(Sum(ReadAll(*client_, files)), 0u);
  EXPECT_TRUE(WorkerUp(0));
}

TEST_F(FullDiskTest, DiskThatStaysFullFailsTheWaitingFilesClearlyAfterTheTimeout) {
  if (!tmpfs_.mounted()) GTEST_SKIP() << tmpfs_.skip_reason();
  Start(
      1,
      {"alluvium.worker.page.store.size=1GB", kRegionSize, "alluvium.job.load.no.space.timeout=2s"},
      {{0, {"alluvium.worker.page.store.dirs=" + tmpfs_.path().string()}}});
  if (HasFatalFailure()) return;
  FillDisk();
  const auto files = MakeUniform("full", 4, 300'000);
  const CommandResult load = LoadAndWait("/full");
  const json progress = Progress("/full");
  EXPECT_EQ(load.exit_code, 1) << load.output << load.errors;
  EXPECT_EQ(progress.value("mFailedFileCount", -1), 4) << progress.dump(1);
  const json reasons = progress.value("mFailedFilesWithReasons", json::object());
  EXPECT_EQ(reasons.size(), 4u) << progress.dump(1);
  for (const auto& [path, reason] : reasons.items()) {
    const std::string r = reason.get<std::string>();
    EXPECT_NE(r.find("No space left on device"), std::string::npos) << path << ": " << r;
    EXPECT_NE(r.find("no room for"), std::string::npos) << path << ": " << r;
  }
  EXPECT_TRUE(WorkerUp(0));
  EXPECT_EQ(RecordsOnDisk(files), 0u);
  uint64_t total = 0;
  for (const auto& [p, b] : files) total += b.size();
  EXPECT_EQ(Sum(ReadAll(*client_, files)), total);  // reads still work, from the UFS
}

TEST_F(FullDiskTest, FullDiskOnOneWorkerHoldsItsSegmentsThereUntilItHasRoom) {
  StartOnTmpfs(2);
  if (IsSkipped() || HasFatalFailure()) return;
  FillDisk();
  const auto files = MakeUniform("around", 8, 300'000);
  ASSERT_EQ(cluster_->Cli("job load /around").exit_code, 0);
  // Segments the ring gives worker 0 wait for it (reads look for them there); worker 1 loads.
  json progress;
  ASSERT_TRUE(Eventually(
      [&] {
        progress = Progress("/around");
        return progress.contains("waitingForSpace") && progress.value("mLoadedByteCount", 0) > 0;
      },
      30s))
      << progress.dump(1);
  tmpfs_.Unfill();
  const json done = cluster_->WaitLoadEnded({{"path", "/around"}}, 60s);
  EXPECT_EQ(done.value("mJobState", ""), "SUCCEEDED") << done.dump(1);
  EXPECT_TRUE(WorkerUp(0));
  EXPECT_TRUE(WorkerUp(1));
  EXPECT_EQ(Sum(ReadAll(*client_, files)), 0u);  // every segment on the worker reads look at
  EXPECT_GT(RecordsOnDisk(files), 0u);
}

TEST_F(FullDiskTest, WholeDataDirOnAFullDiskKeepsTheWorkerUpAndSurvivesACrash) {
  // The default layout: pages and the metadata store (RocksDB) share the worker's data disk.
  Start(1, {"alluvium.worker.page.store.size=1GB", kRegionSize}, {}, [&](LocalCluster& cluster) {
    data_disk_ = std::make_unique<ScopedTmpfs>(kDiskBytes, cluster.worker_dir(0));
    if (!data_disk_->mounted()) GTEST_SKIP() << data_disk_->skip_reason();
  });
  if (IsSkipped() || HasFatalFailure()) return;
  const auto first = MakeUniform("first", 30, 1 << 20);  // 30 MiB into 16 MiB
  const CommandResult load = LoadAndWait("/first", "--allow-eviction");
  EXPECT_EQ(load.exit_code, 0) << load.output << load.errors;
  EXPECT_TRUE(WorkerUp(0));

  // The rest of the disk taken by someone else: loads go on by evicting our older pages, even
  // though the metadata store's writes may now fail.
  FillDisk(*data_disk_);
  const auto second = MakeUniform("second", 4, 300'000);
  const CommandResult again = LoadAndWait("/second");
  EXPECT_EQ(again.exit_code, 0) << again.output << again.errors;
  EXPECT_EQ(Sum(ReadAll(*client_, second)), 0u);
  EXPECT_TRUE(WorkerUp(0));

  // A crash while the disk is full, then space is freed: it restarts, with its pages.
  cluster_->SignalWorker(0, SIGKILL);
  data_disk_->Unfill();
  const Status restarted = cluster_->StartWorker(0);
  ASSERT_TRUE(restarted.ok()) << restarted;
  EXPECT_EQ(Sum(ReadAll(*client_, second)), 0u);
  ReadAll(*client_, first, /*reverse=*/true);
  EXPECT_TRUE(WorkerUp(0));
}

}  // namespace
}  // namespace alluvium::testing
