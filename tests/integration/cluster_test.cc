// End-to-end behaviour of the cache cluster with real processes on loopback.
#include <signal.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "common/file_util.h"
#include "integration/local_cluster.h"
#include "testing/eventually.h"

namespace alluvium::testing {
namespace {

using namespace std::chrono_literals;

Result<std::string> ReadAll(client::Client& client, const std::string& path, uint64_t offset,
                            uint64_t length, client::ReadStats* stats = nullptr) {
  return ReadToString(client, path, offset, length, stats);
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override { StartCluster(""); }

  // `cache_filter`: the rules file's JSON; empty for the default (all immutable). Workers
  // re-read it every 200 ms.
  void StartCluster(std::string cache_filter) {
    cluster_ = std::make_unique<LocalCluster>(LocalClusterOptions{
        .workers = 3,
        .conf = {"alluvium.worker.page.store.page.size=64KB",
                 "alluvium.user.file.segment.size=256KB",
                 "alluvium.user.client.cache.filter.config.check.interval=200ms"},
        .cache_filter = std::move(cache_filter)});
    {
      const Status started = cluster_->Start();
      ASSERT_TRUE(started.ok()) << started;
    }
    auto client = cluster_->NewClient();
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<client::Client> client_;
};

TEST_F(ClusterTest, FirstReadFetchesFromUfsSecondIsServedFromCache) {
  const std::string bytes = WriteRandomFile(cluster_->ufs_root() / "data/a.bin", 3'000'000, 1);
  client::ReadStats first, second;
  auto got = ReadAll(*client_, "/data/a.bin", 0, UINT64_MAX, &first);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, bytes);
  EXPECT_EQ(first.bytes_from_ufs, bytes.size());

  got = ReadAll(*client_, "/data/a.bin", 0, UINT64_MAX, &second);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, bytes);
  EXPECT_EQ(second.bytes_from_cache, bytes.size());
  EXPECT_EQ(second.bytes_from_ufs, 0u);
}

TEST_F(ClusterTest, RangedReadsReturnExactlyTheRange) {
  const std::string bytes = WriteRandomFile(cluster_->ufs_root() / "r.bin", 1'000'003, 2);
  for (auto [offset, length] : std::vector<std::pair<uint64_t, uint64_t>>{
           {0, 1}, {65535, 2}, {262143, 300000}, {999'999, 4}, {123, 0}}) {
    auto got = ReadAll(*client_, "/r.bin", offset, length);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, bytes.substr(offset, length)) << offset << "+" << length;
  }
}

TEST_F(ClusterTest, ReadPastEndOfFileIsShortNotAnError) {
  const std::string bytes = WriteRandomFile(cluster_->ufs_root() / "short.bin", 1000, 3);
  auto straddling = ReadAll(*client_, "/short.bin", 900, 500);
  ASSERT_TRUE(straddling.ok()) << straddling.status();
  EXPECT_EQ(*straddling, bytes.substr(900));
  auto past = ReadAll(*client_, "/short.bin", 5000, 10);
  ASSERT_TRUE(past.ok()) << past.status();
  EXPECT_TRUE(past->empty());
}

TEST_F(ClusterTest, UnknownPathIsNotFound) {
  EXPECT_EQ(client_->GetStatus("/no/such/file").status().code(), Code::kNotFound);
  EXPECT_EQ(ReadAll(*client_, "/no/such/file", 0, 10).status().code(), Code::kNotFound);
  EXPECT_EQ(client_->GetStatus("/../etc/passwd").status().code(), Code::kInvalidArgument);
}

TEST_F(ClusterTest, ListsDirectoriesThroughTheWorkers) {
  WriteRandomFile(cluster_->ufs_root() / "dir/x", 10, 4);
  WriteRandomFile(cluster_->ufs_root() / "dir/sub/y", 20, 5);
  std::vector<std::string> paths;
  ASSERT_TRUE(client_
                  ->List("/dir", true,
                         [&](const client::FileInfo& f) {
                           paths.push_back(f.path);
                           return OkStatus();
                         })
                  .ok());
  EXPECT_EQ(paths, (std::vector<std::string>{"/dir/sub", "/dir/sub/y", "/dir/x"}));
}

TEST_F(ClusterTest, AWorkerKilledMidReadIsReplacedByTheNextOnTheRing) {
  // 40 segments over 3 workers: whichever worker dies, later segments it owned must move on.
  const std::string bytes = WriteRandomFile(cluster_->ufs_root() / "big.bin", 10'000'000, 6);
  std::string out;
  bool killed = false;
  auto stats = client_->Read("/big.bin", 0, UINT64_MAX, [&](std::span<const std::byte> data) {
    out.append(reinterpret_cast<const char*>(data.data()), data.size());
    if (!killed && out.size() > 1'000'000) {
      cluster_->SignalWorker(0, SIGKILL);
      killed = true;
    }
    return OkStatus();
  });
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_TRUE(killed);
  EXPECT_EQ(out, bytes);
  EXPECT_GE(stats->worker_failovers, 1u);
}

TEST_F(ClusterTest, WorkersAreLostAfterTheTimeoutAndRejoin) {
  cluster_->SignalWorker(1, SIGSTOP);
  EXPECT_TRUE(cluster_->WaitForLiveWorkers(2, 20s).ok());
  cluster_->SignalWorker(1, SIGCONT);
  EXPECT_TRUE(cluster_->WaitForLiveWorkers(3, 20s).ok());

  cluster_->SignalWorker(2, SIGKILL);
  EXPECT_TRUE(cluster_->WaitForLiveWorkers(2, 20s).ok());
  ASSERT_TRUE(cluster_->StartWorker(2).ok());
  EXPECT_TRUE(cluster_->WaitForLiveWorkers(3, 20s).ok());
  auto workers = client_->ListWorkers();
  ASSERT_TRUE(workers.ok());
  EXPECT_EQ(workers->size(), 3u) << "a restarted worker keeps its identity";
}

TEST_F(ClusterTest, CachedPagesSurviveAWorkerRestart) {
  const std::string bytes = WriteRandomFile(cluster_->ufs_root() / "keep.bin", 2'000'000, 7);
  ASSERT_TRUE(ReadAll(*client_, "/keep.bin", 0, UINT64_MAX).ok());
  for (int i = 0; i < 3; ++i) {
    cluster_->SignalWorker(i, SIGKILL);
    ASSERT_TRUE(cluster_->StartWorker(i).ok());
  }
  ASSERT_TRUE(cluster_->WaitForLiveWorkers(3, 20s).ok());
  client::ReadStats stats;
  auto got = ReadAll(*client_, "/keep.bin", 0, UINT64_MAX, &stats);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, bytes);
  EXPECT_EQ(stats.bytes_from_cache, bytes.size());
}

// The default rules say metadata and data never change once cached (Alluxio's default): a file
// changed in the UFS is served as cached, without asking the UFS, until a load lists it anew.
TEST_F(ClusterTest, AChangedFileIsServedAsCachedUntilALoadRefreshesIt) {
  const std::string v1 = WriteRandomFile(cluster_->ufs_root() / "chg/v.bin", 100'000, 8);
  ASSERT_TRUE(ReadAll(*client_, "/chg/v.bin", 0, UINT64_MAX).ok());
  const std::string v2 = WriteRandomFile(cluster_->ufs_root() / "chg/v.bin", 120'000, 9);
  client::ReadStats stats;
  auto got = ReadAll(*client_, "/chg/v.bin", 0, UINT64_MAX, &stats);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, v1);
  EXPECT_EQ(stats.bytes_from_cache, v1.size());

  auto load = cluster_->Cli("job load /chg --wait");
  ASSERT_EQ(load.exit_code, 0) << load.output << load.errors;
  // A client that has not seen the file's status (the one above keeps it for up to
  // alluvium.user.metadata.cache.expiration.time) reads the new version.
  auto fresh = cluster_->NewClient();
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  got = ReadAll(**fresh, "/chg/v.bin", 0, UINT64_MAX, &stats);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, v2);
  EXPECT_EQ(stats.bytes_from_cache, v2.size());  // loaded at its new version
}

class ClusterWithRulesTest : public ClusterTest {
 protected:
  void SetUp() override {
    StartCluster(R"({"apiVersion": 1,
                     "metadata": {"skipCache": [".*/live/.*"], "maxAge": {".*/hourly/.*": "1h"}},
                     "data": {"skipCache": [".*/live/nocache/.*"]}})");
  }
};

TEST_F(ClusterWithRulesTest, AnEditedRulesFileTakesEffectWhileTheWorkersRun) {
  const std::string v1 = WriteRandomFile(cluster_->ufs_root() / "frozen/v.bin", 100'000, 8);
  ASSERT_TRUE(ReadAll(*client_, "/frozen/v.bin", 0, UINT64_MAX).ok());
  const std::string v2 = WriteRandomFile(cluster_->ufs_root() / "frozen/v.bin", 120'000, 9);
  auto got = ReadAll(*client_, "/frozen/v.bin", 0, UINT64_MAX);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(*got, v1);  // immutable by default

  ASSERT_TRUE(WriteFileAtomically(
                  cluster_->cache_filter_file(),
                  R"({"apiVersion": 1, "metadata": {"skipCache": [".*/live/.*", ".*/frozen/.*"]}})")
                  .ok());
  EXPECT_TRUE(Eventually(
      [&] {
        got = ReadAll(*client_, "/frozen/v.bin", 0, UINT64_MAX);
        return got.ok() && *got == v2;
      },
      20s));
}

TEST_F(ClusterWithRulesTest, AChangedFileWithSkipCacheMetadataIsNeverServedStale) {
  WriteRandomFile(cluster_->ufs_root() / "live/v.bin", 100'000, 8);
  ASSERT_TRUE(ReadAll(*client_, "/live/v.bin", 0, UINT64_MAX).ok());
  const std::string v2 = WriteRandomFile(cluster_->ufs_root() / "live/v.bin", 120'000, 9);
  auto got = ReadAll(*client_, "/live/v.bin", 0, UINT64_MAX);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, v2);
}

TEST_F(ClusterWithRulesTest, SkipCacheDataIsAlwaysReadFromTheUfs) {
  const std::string bytes =
      WriteRandomFile(cluster_->ufs_root() / "live/nocache/a.bin", 300'000, 3);
  for (int i = 0; i < 2; ++i) {
    client::ReadStats stats;
    auto got = ReadAll(*client_, "/live/nocache/a.bin", 0, UINT64_MAX, &stats);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, bytes);
    EXPECT_EQ(stats.bytes_from_ufs, bytes.size());
  }
  EXPECT_EQ(StableCachedPages(*client_), 0u);
}

TEST_F(ClusterWithRulesTest, MaxAgeMetadataIsServedAsCachedWhileYoung) {
  const std::string v1 = WriteRandomFile(cluster_->ufs_root() / "hourly/v.bin", 100'000, 8);
  ASSERT_TRUE(ReadAll(*client_, "/hourly/v.bin", 0, UINT64_MAX).ok());
  WriteRandomFile(cluster_->ufs_root() / "hourly/v.bin", 120'000, 9);
  auto got = ReadAll(*client_, "/hourly/v.bin", 0, UINT64_MAX);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, v1);  // within the hour: the cached status and pages
}

TEST_F(ClusterTest, MountsRouteReadsAndSurviveACoordinatorRestart) {
  ScopedTempDir other;
  const std::string bytes = WriteRandomFile(other.path() / "m.bin", 5000, 10);
  ASSERT_TRUE(client_->Mount("/other", "file://" + other.path().string()).ok());
  auto got = ReadAll(*client_, "/other/m.bin", 0, UINT64_MAX);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, bytes);
  EXPECT_EQ(client_->Mount("/other", "file:///tmp").code(), Code::kAlreadyExists);

  cluster_->KillCoordinator();
  ASSERT_TRUE(cluster_->StartCoordinator().ok());
  ASSERT_TRUE(cluster_->WaitForLiveWorkers(3, 20s).ok());
  auto client = cluster_->NewClient();
  ASSERT_TRUE(client.ok());
  got = ReadAll(**client, "/other/m.bin", 0, UINT64_MAX);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, bytes);
  ASSERT_TRUE((*client)->Unmount("/other").ok());
  EXPECT_EQ((*client)->GetStatus("/other/m.bin").status().code(), Code::kNotFound);
}

// Workers back off while the coordinator is down; they must still reach a restarted one before
// it times out the members it restored, or it drops every worker from the ring at once.
TEST_F(ClusterTest, NoWorkerIsLostAcrossALongCoordinatorRestart) {
  cluster_->KillCoordinator();
  std::this_thread::sleep_for(7s);  // heartbeats fail long enough to back off several times
  ASSERT_TRUE(cluster_->StartCoordinator().ok());
  // The restored members are live at once; watch them past the 3 s worker timeout.
  const auto until = std::chrono::steady_clock::now() + 6s;
  size_t fewest = 3;
  while (std::chrono::steady_clock::now() < until) {
    auto client = cluster_->NewClient();
    if (client.ok()) {
      auto workers = (*client)->ListWorkers();
      if (workers.ok()) {
        fewest = std::min<size_t>(
            fewest, std::count_if(workers->begin(), workers->end(),
                                  [](const client::WorkerInfo& w) { return w.live; }));
      }
    }
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(fewest, 3u) << "a worker was marked lost after the coordinator came back";
}

}  // namespace
}  // namespace alluvium::testing
