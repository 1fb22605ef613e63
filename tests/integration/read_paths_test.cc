// How reads reach cached data, with real processes on loopback: a client on the workers' host
// reads cached pages straight from the page store files (short-circuit), everything else (and
// everything when short-circuit is off) through the workers' gRPC service, and a worker that
// dies under short-circuit readers costs no wrong byte.
#include <signal.h>

#include <atomic>
#include <functional>
#include <map>
#include <random>
#include <span>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/local_cluster.h"
#include "testing/eventually.h"

namespace alluvium::testing {
namespace {

using namespace std::chrono_literals;

Result<std::string> ReadAll(client::Client& client, const std::string& path,
                            client::ReadStats* stats = nullptr) {
  return ReadToString(client, path, 0, UINT64_MAX, stats);
}

class ReadPathsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<LocalCluster>(
        LocalClusterOptions{.workers = 3,
                            .conf = {"alluvium.worker.page.store.page.size=64KB",
                                     "alluvium.user.file.segment.size=256KB"}});
    {
      const Status started = cluster_->Start();
      ASSERT_TRUE(started.ok()) << started;
    }
    for (int i = 0; i < 6; ++i) {
      const std::string name = fmt::format("data/f{}.bin", i);
      files_["/" + name] = WriteRandomFile(cluster_->ufs_root() / name, 100'000 + i * 300'000, i);
    }
    const CommandResult load = cluster_->Cli("job load /data --wait");
    ASSERT_EQ(load.exit_code, 0) << load.output << load.errors;
  }

  // Reads every file of the dataset whole through `client`, checks its bytes, and hands each
  // read's statistics to `check`.
  void ReadEveryFile(client::Client& client,
                     const std::function<void(const std::string& path, uint64_t size,
                                              const client::ReadStats& stats)>& check) {
    for (const auto& [path, bytes] : files_) {
      client::ReadStats stats;
      auto got = ReadAll(client, path, &stats);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(*got, bytes) << path;
      check(path, bytes.size(), stats);
    }
  }

  std::unique_ptr<LocalCluster> cluster_;
  std::map<std::string, std::string> files_;
};

TEST_F(ReadPathsTest, LoadedDataIsReadShortCircuitOnTheWorkersHost) {
  auto client = cluster_->NewClient();
  ASSERT_TRUE(client.ok()) << client.status();
  ReadEveryFile(**client, [](const std::string& path, uint64_t size, const auto& stats) {
    EXPECT_EQ(stats.bytes_short_circuit, size) << path;
    EXPECT_EQ(stats.bytes_from_cache, size) << path;
    EXPECT_EQ(stats.bytes_from_ufs, 0u) << path;
  });
}

// ReadInto puts pages read on this host straight into the caller's memory: whatever the range
// (page-aligned or not, across segments, past the end), the bytes are the file's, short-circuit
// and remote alike, and nothing beyond what was read is touched.
TEST_F(ReadPathsTest, ReadIntoGetsTheFilesBytesForAnyRange) {
  auto local = cluster_->NewClient();
  ASSERT_TRUE(local.ok()) << local.status();
  auto remote = cluster_->NewClient(/*short_circuit=*/false);
  ASSERT_TRUE(remote.ok()) << remote.status();
  const std::string& bytes = files_.at("/data/f5.bin");  // 1,600,000 bytes: 7 segments
  constexpr uint64_t kPage = 64 << 10;
  std::mt19937_64 rng(5);
  std::vector<std::pair<uint64_t, uint64_t>> ranges = {
      {0, bytes.size()}, {kPage, 4 * kPage},         {kPage + 1, 3 * kPage},
      {0, 10},           {bytes.size() - 100, 1000}, {bytes.size(), 10}};
  for (int i = 0; i < 40; ++i) {
    const uint64_t offset =
        (i % 2 == 0) ? rng() % (bytes.size() / kPage) * kPage : rng() % bytes.size();
    ranges.emplace_back(offset, 1 + rng() % (600 << 10));
  }
  for (client::Client* client : {local->get(), remote->get()}) {
    for (const auto& [offset, size] : ranges) {
      std::string out(size + 1, '\x7f');
      auto stats = client->ReadInto("/data/f5.bin", offset,
                                    std::as_writable_bytes(std::span(out)).first(size));
      ASSERT_TRUE(stats.ok()) << stats.status();
      const size_t expected = offset >= bytes.size() ? 0 : std::min(size, bytes.size() - offset);
      ASSERT_EQ(stats->bytes, expected) << offset << "+" << size;
      EXPECT_EQ(std::string_view(out).substr(0, expected),
                std::string_view(bytes).substr(std::min<size_t>(offset, bytes.size()), expected))
          << offset << "+" << size;
      EXPECT_EQ(out[size], '\x7f') << "wrote past the end at " << offset << "+" << size;
    }
  }
}

TEST_F(ReadPathsTest, ShortCircuitOffReadsThroughTheWorkers) {
  auto client = cluster_->NewClient(/*short_circuit=*/false);
  ASSERT_TRUE(client.ok()) << client.status();
  ReadEveryFile(**client, [](const std::string& path, uint64_t size, const auto& stats) {
    EXPECT_EQ(stats.bytes_short_circuit, 0u) << path;
    EXPECT_EQ(stats.bytes_from_cache, size) << path;
  });
}

// Remote reads in 64 KiB parts, four in flight, over segments of 256 KiB on three workers.
client::ClientOptions ReadAheadOptions(const LocalCluster& cluster) {
  client::ClientOptions options = cluster.ClientOptions(/*short_circuit=*/false);
  options.read_ahead_part_size = 64 << 10;
  options.read_ahead_window = 256 << 10;
  return options;
}

TEST_F(ReadPathsTest, RemoteReadAheadDeliversEveryByteInOrder) {
  auto client = cluster_->NewClient(ReadAheadOptions(*cluster_));
  ASSERT_TRUE(client.ok()) << client.status();
  for (const auto& [path, bytes] : files_) {
    client::ReadStats stats;
    auto got = ReadAll(**client, path, &stats);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, bytes) << path;
    EXPECT_EQ(stats.bytes_from_cache, bytes.size()) << path;
    // A range that starts and ends inside parts and crosses segments.
    const uint64_t offset = 70'001, length = std::min<uint64_t>(bytes.size() - offset, 900'000);
    got = ReadToString(**client, path, offset, length);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, bytes.substr(offset, length)) << path;
  }
}

TEST_F(ReadPathsTest, RemoteReadAheadMovesAPartToTheNextWorkerWhenItsWorkerDies) {
  const std::string bytes = WriteRandomFile(cluster_->ufs_root() / "big.bin", 6'000'000, 21);
  const CommandResult load = cluster_->Cli("job load /big.bin --wait");
  ASSERT_EQ(load.exit_code, 0) << load.output << load.errors;
  auto client = cluster_->NewClient(ReadAheadOptions(*cluster_));
  ASSERT_TRUE(client.ok()) << client.status();
  std::string out;
  bool killed = false;
  auto stats = (*client)->Read("/big.bin", 0, UINT64_MAX, [&](std::span<const std::byte> data) {
    out.append(reinterpret_cast<const char*>(data.data()), data.size());
    if (!killed && out.size() > 1'000'000) {  // parts of every worker are in flight by now
      cluster_->SignalWorker(0, SIGKILL);
      killed = true;
    }
    return OkStatus();
  });
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_TRUE(killed);
  EXPECT_EQ(out.size(), bytes.size());
  EXPECT_TRUE(out == bytes) << "wrong bytes after failover";
  EXPECT_GE(stats->worker_failovers, 1u);
}

TEST_F(ReadPathsTest, ASinkErrorStopsARemoteReadAheadAndTheClientReadsOn) {
  auto client = cluster_->NewClient(ReadAheadOptions(*cluster_));
  ASSERT_TRUE(client.ok()) << client.status();
  const auto& [path, bytes] = *files_.rbegin();  // the largest: 1.6 MB, 25 parts
  uint64_t delivered = 0;
  auto stats = (*client)->Read(path, 0, UINT64_MAX, [&](std::span<const std::byte> data) {
    delivered += data.size();
    return delivered > 300'000 ? ResourceExhausted("sink full") : OkStatus();
  });
  EXPECT_EQ(stats.status().code(), Code::kResourceExhausted);
  EXPECT_LT(delivered, bytes.size());
  auto again = ReadAll(**client, path);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, bytes);
}

// Read-ahead is for long reads: a small read at a random offset costs the workers its own bytes
// only, whatever the window.
TEST_F(ReadPathsTest, ASmallRemoteReadFetchesOnlyItsRange) {
  client::ClientOptions options = cluster_->ClientOptions(/*short_circuit=*/false);
  options.read_ahead_window = 64 << 20;
  auto client = cluster_->NewClient(options);
  ASSERT_TRUE(client.ok()) << client.status();
  const auto& [path, bytes] = *files_.rbegin();
  constexpr char kServed[] = "alluvium_worker_read_cache_bytes_total";
  for (uint64_t offset : {uint64_t{0}, uint64_t{123'457}, uint64_t{65'536 - 1000}}) {
    const uint64_t before = SumOfWorkerMetric(**client, kServed);
    auto got = ReadToString(**client, path, offset, 4096);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, bytes.substr(offset, 4096));
    EXPECT_EQ(SumOfWorkerMetric(**client, kServed) - before, 4096u) << "offset " << offset;
  }
}

TEST_F(ReadPathsTest, UncachedPagesComeThroughTheWorkerThenShortCircuit) {
  const std::string bytes = WriteRandomFile(cluster_->ufs_root() / "cold.bin", 700'000, 99);
  auto client = cluster_->NewClient();
  ASSERT_TRUE(client.ok()) << client.status();
  client::ReadStats first, second;
  auto got = ReadAll(**client, "/cold.bin", &first);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, bytes);
  EXPECT_EQ(first.bytes_from_ufs, bytes.size());
  got = ReadAll(**client, "/cold.bin", &second);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, bytes);
  EXPECT_EQ(second.bytes_short_circuit, bytes.size());
}

// Readers keep reading while a worker is SIGKILLed: its channel breaks (or its pages become
// unreachable through it), and the reads go on through the other workers, every byte right.
TEST_F(ReadPathsTest, WorkerKilledUnderShortCircuitReadersCostsNoWrongByte) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0}, wrong{0}, failed{0}, short_circuit{0};
  std::vector<std::jthread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      auto client = cluster_->NewClient();
      if (!client.ok()) {
        ADD_FAILURE() << client.status();
        return;
      }
      while (!stop.load()) {
        for (const auto& [path, bytes] : files_) {
          client::ReadStats stats;
          auto got = ReadAll(**client, path, &stats);
          if (!got.ok()) {
            ++failed;
            ADD_FAILURE() << path << ": " << got.status();
            continue;
          }
          ++reads;
          short_circuit += stats.bytes_short_circuit;
          if (*got != bytes) ++wrong;
        }
      }
    });
  }
  ASSERT_TRUE(Eventually([&] { return reads.load() >= 30; }, 60s));
  cluster_->SignalWorker(1, SIGKILL);
  const uint64_t at_kill = reads.load();
  EXPECT_TRUE(Eventually([&] { return reads.load() >= at_kill + 60; }, 90s));
  stop = true;
  readers.clear();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_EQ(failed.load(), 0u);
  EXPECT_GT(short_circuit.load(), 0u);
}

}  // namespace
}  // namespace alluvium::testing
