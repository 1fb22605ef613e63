// Loads that tell the truth about capacity (issue 14), end to end on a real local cluster with
// small caches: a job larger than the caches is refused at submit (or, admitted, fails naming
// the worker and the numbers) and never evicts its own pages; `verify` means resident; a dry run
// sizes the job without loading; `fs location` shows where each segment is.
#include <filesystem>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/local_cluster.h"
#include "testing/eventually.h"

namespace alluvium::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr uint64_t kPage = 64 << 10;
constexpr uint64_t kSegment = 256 << 10;

class LoadCapacityTest : public ::testing::Test {
 protected:
  void Start(const std::string& cache_size) {
    cluster_ = std::make_unique<LocalCluster>(
        LocalClusterOptions{.workers = 3,
                            .conf = {"alluvium.worker.page.store.page.size=64KB",
                                     "alluvium.user.file.segment.size=256KB",
                                     "alluvium.worker.page.store.size=" + cache_size}});
    {
      const Status started = cluster_->Start();
      ASSERT_TRUE(started.ok()) << started;
    }
    auto client = cluster_->NewClient();
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  std::map<std::string, std::string> MakeFiles(const std::string& dir, int files, size_t size) {
    std::map<std::string, std::string> out;
    for (int i = 0; i < files; ++i) {
      const std::string name = fmt::format("/{}/f{:03}.bin", dir, i);
      out[name] = WriteRandomFile(cluster_->ufs_root() / name.substr(1), size, 500 + i);
    }
    return out;
  }

  std::string UriOf(const std::string& path) const {
    return "file://" + (cluster_->ufs_root() / path.substr(1)).string();
  }

  LocalCluster::HttpReply Submit(const json& body) {
    return cluster_->Http("POST", "/api/v1/master/submit_job/load", body.dump());
  }

  // Bytes of `files` each worker address holds, as the workers themselves say.
  std::map<std::string, uint64_t> CachedByWorker(const std::map<std::string, std::string>& files) {
    std::map<std::string, uint64_t> out;
    for (const auto& [path, bytes] : files) {
      auto segments = client_->Locate(path);
      EXPECT_TRUE(segments.ok()) << segments.status();
      if (!segments.ok()) continue;
      for (const client::SegmentLocation& s : *segments) {
        for (const auto& h : s.holders) out[h.address] += h.cached_bytes;
      }
    }
    return out;
  }

  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<client::Client> client_;
};

TEST_F(LoadCapacityTest, ADatasetLargerThanTheCachesIsRefusedUnlessEvictionIsAllowed) {
  Start("2MB");
  if (HasFatalFailure()) return;
  const auto files = MakeFiles("big", 12, 700'000);  // 8.4 MB over 3 x 2 MB

  const LocalCluster::HttpReply refused = Submit({{"path", "/big"}});
  EXPECT_EQ(refused.status, 400) << refused.body;
  const json j = json::parse(refused.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << refused.body;
  EXPECT_EQ(j.value("error", ""), "FAILED_PRECONDITION");
  // The capacity is what the 2 MB holds in whole 64 KiB page records: 31 pages.
  EXPECT_NE(j.value("message", "").find("of this job exceed its 1.9 MiB cache"), std::string::npos)
      << refused.body;
  ASSERT_EQ(j["workers"].size(), 3u) << refused.body;
  uint64_t shares = 0;
  for (const json& w : j["workers"]) {
    EXPECT_EQ(w.value("capacityBytes", 0u), 31 * kPage) << w.dump();
    shares += w.value("bytes", 0u);
  }
  EXPECT_EQ(shares, 12u * 700'000);
  EXPECT_EQ(cluster_->LoadProgress({{"path", "/big"}}).value("httpStatus", 0), 404);

  // The CLI says the same, with each worker's numbers, and exits 1.
  const CommandResult cli = cluster_->Cli("job load /big");
  EXPECT_EQ(cli.exit_code, 1) << cli.output << cli.errors;
  EXPECT_NE(cli.errors.find("of this job exceed its 1.9 MiB cache"), std::string::npos)
      << cli.errors;
  EXPECT_NE(cli.output.find("Job's share"), std::string::npos) << cli.output;

  // allowEviction keeps the old behaviour, and the report says so.
  ASSERT_EQ(Submit({{"path", "/big"}, {"options", {{"allowEviction", true}}}}).status, 200);
  const json done = cluster_->WaitLoadEnded({{"path", "/big"}}, 60s);
  EXPECT_EQ(done.value("mJobState", ""), "SUCCEEDED") << done.dump(1);
  EXPECT_EQ(done.value("allowEviction", false), true);
  const CommandResult report = cluster_->Cli("job load /big --progress");
  EXPECT_NE(report.output.find("Eviction: allowed"), std::string::npos) << report.output;
}

TEST_F(LoadCapacityTest, AnAdmittedJobThatOverflowsFailsNamingTheWorkerAndKeepsWhatItLoaded) {
  Start("2MB");
  if (HasFatalFailure()) return;
  const auto files = MakeFiles("over", 12, 700'000);
  // Partial listing loads as it lists, so nothing is sized up front: the workers' pins are what
  // keeps the job from evicting itself.
  ASSERT_EQ(Submit({{"path", "/over"}, {"options", {{"partialListing", true}}}}).status, 200);
  const json done = cluster_->WaitLoadEnded({{"path", "/over"}}, 60s);
  EXPECT_EQ(done.value("mJobState", ""), "FAILED") << done.dump(1);
  const std::string reason = done.value("mFailureReason", "");
  EXPECT_TRUE(std::regex_search(
      reason, std::regex(R"([0-9a-f-]+: [0-9.]+ MiB of this job exceed its 1.9 MiB cache)")))
      << reason;
  const json failed = done.value("mFailedFilesWithReasons", json::object());
  EXPECT_GT(failed.size(), 0u);
  std::map<std::string, std::string> kept;
  for (const auto& [path, bytes] : files) {
    if (!failed.contains(UriOf(path))) kept[path] = bytes;
  }
  EXPECT_GT(kept.size(), 0u) << done.dump(1);
  // Every file the job did not report failed is wholly cached: none was evicted by the job.
  EXPECT_EQ(ReadBackAndCompare(*client_, kept), 0u) << done.dump(1);
  EXPECT_EQ(SumOfWorkerMetric(*client_, "alluvium_worker_page_store_evictions_total"), 0u);

  // The report: a line per file, CACHED with all its bytes resident, or FAILED with the reason.
  const CommandResult report = cluster_->Cli("job report /over");
  ASSERT_EQ(report.exit_code, 0) << report.errors;
  EXPECT_NE(report.errors.find("12 files: "), std::string::npos) << report.errors;
  std::istringstream lines(report.output);
  std::string text;
  size_t count = 0;
  while (std::getline(lines, text)) {
    const json line = json::parse(text, nullptr, false);
    ASSERT_TRUE(line.is_object()) << text;
    ++count;
    const std::string uri = line.value("path", "");
    EXPECT_EQ(line.value("size", 0u), 700'000u) << text;
    EXPECT_EQ(line["owners"].size(), 3u) << text;  // 700,000 bytes: three 256 KiB segments
    if (failed.contains(uri)) {
      EXPECT_EQ(line.value("status", ""), "FAILED") << text;
      EXPECT_NE(line.value("error", "").find("exceed its"), std::string::npos) << text;
    } else {
      EXPECT_EQ(line.value("status", ""), "CACHED") << text;
      EXPECT_EQ(line.value("residentBytes", 0u), 700'000u) << text;
    }
  }
  EXPECT_EQ(count, files.size());
}

TEST_F(LoadCapacityTest, VerifyReloadsPagesLostBehindAWorkersBackAndMeansResident) {
  Start("64MB");
  if (HasFatalFailure()) return;
  const auto files = MakeFiles("ver", 6, 700'000);
  ASSERT_EQ(Submit({{"path", "/ver"}}).status, 200);
  ASSERT_EQ(cluster_->WaitLoadEnded({{"path", "/ver"}}, 60s).value("mJobState", ""), "SUCCEEDED");

  // Someone truncates one worker's region files: its index still lists the pages.
  uint64_t truncated = 0;
  for (const auto& e : fs::recursive_directory_iterator(cluster_->worker_dir(0))) {
    if (e.is_regular_file() && e.path().parent_path().filename() == "regions" &&
        e.file_size() > 0) {
      fs::resize_file(e.path(), 0);
      ++truncated;
    }
  }
  ASSERT_GT(truncated, 0u);

  // skipIfExists trusts the index; verify does not, reloads what is gone, and checks again.
  ASSERT_EQ(
      Submit({{"path", "/ver"}, {"options", {{"verify", true}, {"skipIfExists", true}}}}).status,
      200);
  const json done = cluster_->WaitLoadEnded({{"path", "/ver"}}, 60s);
  EXPECT_EQ(done.value("mJobState", ""), "SUCCEEDED") << done.dump(1);
  EXPECT_LE(done.value("mLoadedByteCount", 0u), done.value("mTotalByteCount", 0u)) << done.dump(1);
  EXPECT_EQ(ReadBackAndCompare(*client_, files), 0u);
}

TEST_F(LoadCapacityTest, DryRunSizesTheJobAsTheLoadThenPlacesIt) {
  Start("64MB");
  if (HasFatalFailure()) return;
  const auto files = MakeFiles("dry", 10, 1'000'000);
  const LocalCluster::HttpReply dry =
      Submit({{"path", "/dry"}, {"options", {{"dryRun", true}, {"replicas", 2}}}});
  ASSERT_EQ(dry.status, 200) << dry.body;
  const json size = json::parse(dry.body);
  EXPECT_EQ(size.value("files", 0), 10);
  EXPECT_EQ(size.value("bytes", 0u), 10'000'000u);
  EXPECT_EQ(size.value("copyBytes", 0u), 20'000'000u);
  EXPECT_EQ(size.value("fits", false), true);
  EXPECT_FALSE(size.contains("estimatedSeconds"));  // no load has measured the UFS yet
  // Nothing was loaded, and no job exists.
  EXPECT_EQ(cluster_->LoadProgress({{"path", "/dry"}}).value("httpStatus", 0), 404);
  EXPECT_EQ(StableCachedPages(*client_), 0u);

  ASSERT_EQ(Submit({{"path", "/dry"}, {"options", {{"replicas", 2}}}}).status, 200);
  ASSERT_EQ(cluster_->WaitLoadEnded({{"path", "/dry"}}, 60s).value("mJobState", ""), "SUCCEEDED");
  const std::map<std::string, uint64_t> cached = CachedByWorker(files);
  for (const json& w : size["workers"]) {
    EXPECT_EQ(cached.count(w.value("address", "")) ? cached.at(w.value("address", "")) : 0u,
              w.value("bytes", 1u))
        << w.dump();
  }

  // The CLI's dry run, now with an estimate from the job that just ran.
  const CommandResult cli = cluster_->Cli("job load /dry --dry-run --replicas 2");
  EXPECT_EQ(cli.exit_code, 0) << cli.output << cli.errors;
  EXPECT_NE(cli.output.find("Files: 10"), std::string::npos) << cli.output;
  EXPECT_NE(cli.output.find("Estimated duration: 00:"), std::string::npos) << cli.output;
  EXPECT_NE(cli.output.find("Fits: yes"), std::string::npos) << cli.output;
}

TEST_F(LoadCapacityTest, FsLocationShowsEachSegmentsOwnersAndWhatTheyHold) {
  Start("64MB");
  if (HasFatalFailure()) return;
  const auto files = MakeFiles("loc", 1, 5 * kSegment + 1000);  // 6 segments
  const std::string path = files.begin()->first;
  const CommandResult before = cluster_->Cli("fs location " + path);
  EXPECT_EQ(before.exit_code, 0) << before.errors;
  EXPECT_NE(before.output.find("cached on its owners: 0B of"), std::string::npos) << before.output;

  ASSERT_EQ(Submit({{"path", "/loc"}}).status, 200);
  ASSERT_EQ(cluster_->WaitLoadEnded({{"path", "/loc"}}, 60s).value("mJobState", ""), "SUCCEEDED");
  const CommandResult after = cluster_->Cli("fs location " + path);
  EXPECT_EQ(after.exit_code, 0) << after.errors;
  EXPECT_NE(after.output.find("6 segments"), std::string::npos) << after.output;
  EXPECT_NE(after.output.find("(100.0%)"), std::string::npos) << after.output;
  // Each segment's owner holds all of it, as its page store's index says.
  auto segments = client_->Locate(path);
  ASSERT_TRUE(segments.ok()) << segments.status();
  ASSERT_EQ(segments->size(), 6u);
  for (const client::SegmentLocation& s : *segments) {
    ASSERT_FALSE(s.holders.empty());
    EXPECT_EQ(s.holders[0].owner_rank, 0);
    EXPECT_EQ(s.holders[0].cached_bytes, s.length) << s.index;
    EXPECT_EQ(s.holders.size(), 1u) << "no other worker holds segment " << s.index;
  }
  const CommandResult missing = cluster_->Cli("fs location /loc/none");
  EXPECT_EQ(missing.exit_code, 1);
}

}  // namespace
}  // namespace alluvium::testing
