// Chaos: load jobs from the local UFS and from S3 run while workers and the coordinator are
// killed with SIGKILL and restarted at random moments, and while readers read through the cache.
// Whatever happens, every job must end SUCCEEDED (no fault here makes a file unloadable), no job
// may be lost across coordinator restarts, and every byte read through the cache, during the
// chaos or after it, must equal the UFS copy.
//
// ALLUVIUM_CHAOS_ROUNDS (default 4) bounds the rounds, ALLUVIUM_CHAOS_SEED replays one run (the
// seed is printed). The last line printed sums up the run for the README.
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/local_cluster.h"
#include "testing/eventually.h"
#include "testing/s3_test_server.h"

namespace alluvium::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr char kBucket[] = "chaos";
constexpr int kWorkers = 3;
constexpr int kKillsPerRound = 3;

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::atoi(value) : fallback;
}

// What the suite did, printed at the end.
struct Tally {
  int rounds = 0;
  int worker_kills = 0;
  int coordinator_kills = 0;
  int jobs_succeeded = 0;
  std::atomic<uint64_t> files_compared{0};
  std::atomic<uint64_t> bytes_compared{0};
  std::atomic<uint64_t> bytes_wrong{0};
  std::atomic<uint64_t> reads_failed{0};  // errors while processes were down: allowed, counted
  std::mutex mu;
  std::map<std::string, int> failure_codes;  // guarded by mu

  void ReadFailed(const Status& status) {
    ++reads_failed;
    std::lock_guard lock(mu);
    if (++failure_codes[std::string(CodeName(status.code()))] == 1) {
      std::printf("first %s: %s\n", std::string(CodeName(status.code())).c_str(),
                  status.ToString().c_str());
    }
  }
  std::string FailureCodes() {
    std::lock_guard lock(mu);
    std::string out;
    for (const auto& [code, n] : failure_codes) out += fmt::format(" {} x{}", code, n);
    return out.empty() ? " none" : out;
  }
};

class ChaosTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = S3TestServer::Start({kBucket});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    cluster_ = std::make_unique<LocalCluster>(LocalClusterOptions{
        .workers = kWorkers,
        .conf = {
            "alluvium.worker.page.store.page.size=64KB", "alluvium.user.file.segment.size=256KB",
            // Quick to notice a dead worker, so rounds stay short.
            "alluvium.worker.heartbeat.interval=200ms", "alluvium.coordinator.worker.timeout=2s",
            "alluvium.underfs.s3.read.block.size=128KB",
            "alluvium.underfs.s3.retry.base.delay=5ms"}});
    {
      const Status started = cluster_->Start();
      ASSERT_TRUE(started.ok()) << started;
    }
    auto client = cluster_->NewClient();
    ASSERT_TRUE(client.ok()) << client.status();
    ASSERT_TRUE((*client)
                    ->Mount("/s3", fmt::format("s3://{}", kBucket),
                            {{"alluvium.underfs.s3.endpoint", server_->endpoint()},
                             {"s3a.accessKeyId", "S3RVER"},
                             {"s3a.secretKey", "S3RVER"}})
                    .ok());
  }

  // Files of assorted sizes (empty, one byte, page-sized, several segments) for round `r`,
  // both in the local UFS (/chaos/rN/...) and in S3 (/s3/rN/...). Returns cache path -> bytes.
  std::map<std::string, std::string> MakeRound(int r, std::mt19937& rng) {
    std::map<std::string, std::string> files;
    const size_t sizes[] = {0, 1, 64 << 10, (64 << 10) + 1, 300'000, 700'000, 1'500'000};
    for (int i = 0; i < 10; ++i) {
      const size_t size = sizes[rng() % std::size(sizes)];
      const std::string local = fmt::format("/chaos/r{}/d{}/f{}.bin", r, i % 3, i);
      files[local] = WriteRandomFile(cluster_->ufs_root() / local.substr(1), size, rng());
      const std::string key = fmt::format("r{}/d{}/o{}.bin", r, i % 3, i);
      std::string bytes = S3TestServer::SeededData(static_cast<int>(rng() % 1000), size, r);
      bytes.resize(size, 'c');
      EXPECT_TRUE(server_->PutObject(kBucket, key, bytes).ok());
      files["/s3/" + key] = std::move(bytes);
    }
    return files;
  }

  LocalCluster::HttpReply Submit(const std::string& path) {
    // A bandwidth cap stretches each job over a few seconds, so the kills land mid-job.
    const json body = {{"path", path}, {"options", {{"bandwidth", "3MB"}, {"batchSize", 4}}}};
    return cluster_->Http("POST", "/api/v1/master/submit_job/load", body.dump());
  }

  json Progress(const std::string& path) { return cluster_->LoadProgress({{"path", path}}); }

  // Kills one process at random (a worker, or the coordinator one time in three), waits a random
  // moment, and starts it again.
  void KillAndRestartOne(std::mt19937& rng, Tally& tally) {
    const bool coordinator = rng() % 3 == 0;
    if (coordinator) {
      cluster_->KillCoordinator();
      ++tally.coordinator_kills;
    } else {
      cluster_->SignalWorker(static_cast<int>(rng() % kWorkers), SIGKILL);
      ++tally.worker_kills;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 1500));
    if (coordinator) {
      ASSERT_TRUE(cluster_->StartCoordinator().ok());
    } else {
      for (int i = 0; i < kWorkers; ++i) {
        if (cluster_->worker_pid(i) == -1) {
          ASSERT_TRUE(cluster_->StartWorker(i).ok());
        }
      }
    }
  }

  // Reads every file through the cache and compares it with the UFS copy. A failed read is
  // allowed while processes die (it is counted); wrong bytes never are.
  void CompareAll(client::Client& client, const std::map<std::string, std::string>& files,
                  Tally& tally, bool must_succeed) {
    for (const auto& [path, want] : files) {
      std::string got;
      auto stats = client.Read(path, 0, UINT64_MAX, [&](std::span<const std::byte> d) {
        got.append(reinterpret_cast<const char*>(d.data()), d.size());
        return OkStatus();
      });
      if (!stats.ok()) {
        tally.ReadFailed(stats.status());
        EXPECT_FALSE(must_succeed) << path << ": " << stats.status();
        continue;
      }
      ++tally.files_compared;
      tally.bytes_compared += want.size();
      uint64_t wrong = got.size() > want.size() ? got.size() - want.size() : 0;
      for (size_t i = 0; i < want.size(); ++i) wrong += i >= got.size() || got[i] != want[i];
      tally.bytes_wrong += wrong;
      EXPECT_EQ(wrong, 0u) << path << ": " << got.size() << " bytes read, " << want.size()
                           << " in the UFS";
    }
  }

  std::unique_ptr<S3TestServer> server_;
  std::unique_ptr<LocalCluster> cluster_;
};

TEST_F(ChaosTest, LoadsSurviveKilledWorkersAndCoordinatorWithNothingLost) {
  const int rounds = EnvInt("ALLUVIUM_CHAOS_ROUNDS", 4);
  const auto seed = static_cast<uint32_t>(
      EnvInt("ALLUVIUM_CHAOS_SEED", static_cast<int>(std::random_device{}() & 0x7fffffff)));
  std::printf("chaos seed %u (ALLUVIUM_CHAOS_SEED=%u replays it)\n", seed, seed);
  std::mt19937 rng(seed);
  Tally tally;
  std::map<std::string, std::string> loaded;  // every earlier round's files

  for (int r = 0; r < rounds && !HasFatalFailure(); ++r) {
    SCOPED_TRACE(fmt::format("round {} (seed {})", r, seed));
    const auto files = MakeRound(r, rng);
    const std::vector<std::string> jobs = {fmt::format("/chaos/r{}", r), fmt::format("/s3/r{}", r)};
    for (const std::string& path : jobs) {
      const LocalCluster::HttpReply reply = Submit(path);
      ASSERT_EQ(reply.status, 200) << path << ": " << reply.body;
    }

    // A reader of earlier rounds' files runs through the chaos, with one client all along, as
    // an application would.
    auto reader_client = cluster_->NewClient();
    ASSERT_TRUE(reader_client.ok()) << reader_client.status();
    std::atomic<bool> chaos_over{false};
    std::jthread reader([&] {
      while (!chaos_over.load()) {
        CompareAll(**reader_client, loaded, tally, /*must_succeed=*/false);
        std::this_thread::sleep_for(50ms);
      }
    });
    for (int k = 0; k < kKillsPerRound && !HasFatalFailure(); ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 1200));
      KillAndRestartOne(rng, tally);
    }
    chaos_over = true;
    reader.join();
    ASSERT_TRUE(cluster_->WaitForLiveWorkers(kWorkers, 30s).ok());

    for (const std::string& path : jobs) {
      json last;
      ASSERT_TRUE(Eventually(
          [&] {
            last = Progress(path);
            const std::string state = last.value("mJobState", "");
            return state == "SUCCEEDED" || state == "FAILED" || state == "STOPPED" ||
                   last.value("httpStatus", 0) == 404;  // lost: fails below
          },
          180s))
          << path << ": " << last.dump();
      ASSERT_EQ(last.value("mJobState", ""), "SUCCEEDED") << path << ": " << last.dump();
      EXPECT_EQ(last["mFailedFileCount"], 0u) << last.dump();
      EXPECT_EQ(last["mProcessedFileCount"], files.size() / 2) << last.dump();
      ++tally.jobs_succeeded;
    }
    auto client = cluster_->NewClient();
    ASSERT_TRUE(client.ok()) << client.status();
    CompareAll(**client, files, tally, /*must_succeed=*/true);
    loaded.insert(files.begin(), files.end());
    ++tally.rounds;
  }
  // Everything ever loaded, once more, now that all processes are back.
  auto client = cluster_->NewClient();
  ASSERT_TRUE(client.ok()) << client.status();
  CompareAll(**client, loaded, tally, /*must_succeed=*/true);

  std::printf(
      "chaos suite: %d rounds, %d kills (%d workers, %d coordinator), %d jobs SUCCEEDED, "
      "%llu file reads compared (%llu bytes), %llu reads failed while processes were down "
      "(%s), %llu wrong bytes, seed %u\n",
      tally.rounds, tally.worker_kills + tally.coordinator_kills, tally.worker_kills,
      tally.coordinator_kills, tally.jobs_succeeded,
      static_cast<unsigned long long>(tally.files_compared.load()),
      static_cast<unsigned long long>(tally.bytes_compared.load()),
      static_cast<unsigned long long>(tally.reads_failed.load()), tally.FailureCodes().c_str(),
      static_cast<unsigned long long>(tally.bytes_wrong.load()), seed);
  EXPECT_EQ(tally.bytes_wrong.load(), 0u);
}

// A worker cut off (SIGSTOP: its port accepts nothing, it heartbeats nothing) is marked lost after
// the heartbeat timeout and its work moves on; when it comes back it rejoins, and nothing it
// serves is wrong.
TEST_F(ChaosTest, PartitionedWorkerIsMarkedLostAndRejoinsWithoutCorruption) {
  std::mt19937 rng(7);
  const auto files = MakeRound(0, rng);
  for (const char* path : {"/chaos/r0", "/s3/r0"}) ASSERT_EQ(Submit(path).status, 200);
  std::this_thread::sleep_for(300ms);
  cluster_->SignalWorker(1, SIGSTOP);
  ASSERT_TRUE(cluster_->WaitForLiveWorkers(kWorkers - 1, 20s).ok()) << "never marked lost";
  for (const char* path : {"/chaos/r0", "/s3/r0"}) {
    json last;
    ASSERT_TRUE(Eventually(
        [&] {
          last = Progress(path);
          const std::string state = last.value("mJobState", "");
          return state == "SUCCEEDED" || state == "FAILED" || state == "STOPPED";
        },
        90s))
        << path << ": " << last.dump();
    EXPECT_EQ(last.value("mJobState", ""), "SUCCEEDED") << last.dump();
  }
  Tally tally;
  {
    auto client = cluster_->NewClient();
    ASSERT_TRUE(client.ok()) << client.status();
    CompareAll(**client, files, tally, /*must_succeed=*/true);  // served by the other two
  }
  cluster_->SignalWorker(1, SIGCONT);
  ASSERT_TRUE(cluster_->WaitForLiveWorkers(kWorkers, 20s).ok()) << "never rejoined";
  auto client = cluster_->NewClient();
  ASSERT_TRUE(client.ok()) << client.status();
  CompareAll(**client, files, tally, /*must_succeed=*/true);  // its share is routed to it again
  EXPECT_EQ(tally.bytes_wrong.load(), 0u);
  std::printf("partition: %llu file reads compared (%llu bytes), %llu wrong bytes\n",
              static_cast<unsigned long long>(tally.files_compared.load()),
              static_cast<unsigned long long>(tally.bytes_compared.load()),
              static_cast<unsigned long long>(tally.bytes_wrong.load()));
}

}  // namespace
}  // namespace alluvium::testing
