// Distributed load end to end: the REST API and CLI of Alluxio's cache preloading against a real
// local cluster, every option, the job states, restarts and a worker killed mid-job.
#include <signal.h>

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/local_cluster.h"
#include "testing/eventually.h"
#include "testing/sanitizers.h"

namespace alluvium::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr uint64_t kPage = 64 << 10;

class LoadTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> extra = {}) {
    std::vector<std::string> conf = {"alluvium.worker.page.store.page.size=64KB",
                                     "alluvium.user.file.segment.size=256KB"};
    conf.insert(conf.end(), extra.begin(), extra.end());
    cluster_ = std::make_unique<LocalCluster>(LocalClusterOptions{.workers = 3, .conf = conf});
    {
      const Status started = cluster_->Start();
      ASSERT_TRUE(started.ok()) << started;
    }
    auto client = cluster_->NewClient();
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  void SetUp() override { Start(); }

  // Files of assorted sizes under /<dir>: empty, short, page-sized, multi-segment.
  std::map<std::string, std::string> MakeDataset(const std::string& dir, int files = 8,
                                                 size_t big = 700'000) {
    std::map<std::string, std::string> out;
    const size_t sizes[] = {0, 1, kPage, kPage + 1, 300'000, big};
    for (int i = 0; i < files; ++i) {
      const std::string name = fmt::format("/{}/sub{}/f{}.bin", dir, i % 2, i);
      out[name] = WriteRandomFile(cluster_->ufs_root() / name.substr(1), sizes[i % 6], 100 + i);
    }
    return out;
  }

  LocalCluster::HttpReply Submit(const json& body) {
    return cluster_->Http("POST", "/api/v1/master/submit_job/load", body.dump());
  }

  json Progress(const json& target) { return cluster_->LoadProgress(target); }

  // Waits until the job on `path` has processed at least `files` files (to act mid-job).
  bool WaitProcessed(const std::string& path, int files) {
    return Eventually(
        [&] {
          return Progress({{"path", path}}).value("mProcessedInodesCount", 0) >= files;
        },
        30s);
  }

  // Waits until the job has ended and returns its JSON progress.
  json WaitEnded(const json& target, std::chrono::milliseconds deadline = 60s) {
    return cluster_->WaitLoadEnded(target, deadline);
  }

  uint64_t ReadBack(const std::map<std::string, std::string>& files) {
    return ReadBackAndCompare(*client_, files);
  }

  uint64_t TotalBytes(const std::map<std::string, std::string>& files) {
    uint64_t total = 0;
    for (const auto& [p, b] : files) total += b.size();
    return total;
  }

  uint64_t CachedPages() { return StableCachedPages(*client_); }

  // UFS requests made by the workers, over all of them: file statuses, and pages fetched by reads.
  uint64_t UfsStatusRequests() {
    return SumOfWorkerMetric(*client_, "alluvium_worker_status_ufs_requests_total");
  }
  uint64_t UfsFetchedPages() {
    return SumOfWorkerMetric(*client_, "alluvium_worker_ufs_fetched_pages_total");
  }

  static uint64_t PagesOf(const std::map<std::string, std::string>& files) {
    uint64_t pages = 0;
    for (const auto& [p, b] : files) pages += (b.size() + kPage - 1) / kPage;
    return pages;
  }

  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<client::Client> client_;
};

TEST_F(LoadTest, LoadedFilesAreReadWhollyFromTheCache) {
  auto files = MakeDataset("data", 12);
  auto reply = Submit({{"path", "/data"}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  json submitted = json::parse(reply.body);
  EXPECT_TRUE(submitted["success"].get<bool>());
  EXPECT_NE(submitted["message"].get<std::string>().find("Load '/data' is successfully submitted"),
            std::string::npos);
  json done = WaitEnded({{"path", "/data"}});
  EXPECT_EQ(done["mJobState"], "SUCCEEDED") << done.dump();
  EXPECT_EQ(done["mProcessedInodesCount"], files.size());
  EXPECT_EQ(done["mLoadedByteCount"], TotalBytes(files));
  EXPECT_EQ(done["mTotalByteCount"], TotalBytes(files));
  // Reading loaded data asks the UFS nothing: statuses from the metadata stores (the load
  // recorded them), bytes from the page stores.
  const uint64_t statuses_before = UfsStatusRequests(), pages_before = UfsFetchedPages();
  EXPECT_EQ(ReadBack(files), 0u) << "every byte should come from the page stores";
  for (const auto& [path, bytes] : files) {
    auto status = client_->GetStatus(path);
    ASSERT_TRUE(status.ok()) << path << ": " << status.status();
    EXPECT_EQ(status->length, bytes.size()) << path;
  }
  EXPECT_EQ(UfsStatusRequests(), statuses_before);
  EXPECT_EQ(UfsFetchedPages(), pages_before);
}

TEST_F(LoadTest, ReferenceCurlExamplesWorkAsWritten) {
  auto files = MakeDataset("dir-1", 6);
  const std::string uri = "file://" + (cluster_->ufs_root() / "dir-1").string() + "/";
  auto reply = Submit(json::parse(R"({"path": ")" + uri + R"(", "options": {
      "replicas":"2", "batchSize": "300", "partialListing": "true",
      "loadMetadataOnly": "true", "skipIfExists": "true"}})"));
  ASSERT_EQ(reply.status, 200) << reply.body;
  json done = WaitEnded({{"path", uri}});
  EXPECT_EQ(done["mJobState"], "SUCCEEDED");
  EXPECT_EQ(done["mMetadataOnly"], true);
  EXPECT_FALSE(done.contains("mTotalByteCount")) << "partial listing has no up-front total";

  auto text = cluster_->Http("GET", "/api/v1/master/progress_job/load",
                             json{{"path", uri}, {"format", "TEXT"}, {"verbose", "true"}}.dump());
  EXPECT_EQ(text.status, 200);
  EXPECT_TRUE(text.body.starts_with("Progress for loading path '" + uri + "':\n")) << text.body;

  auto stop = cluster_->Http("POST", "/api/v1/master/stop_job/load", json{{"path", uri}}.dump());
  EXPECT_EQ(stop.status, 404) << "a finished job cannot be stopped";
  EXPECT_NE(stop.body.find("Cannot find load job for path"), std::string::npos);

  auto list = cluster_->Http("GET", "/api/v1/master/list_job?job-type=LOAD&job-state=SUCCEEDED");
  ASSERT_EQ(list.status, 200);
  EXPECT_NE(list.body.find(done["jobId"].get<std::string>()), std::string::npos);
  auto none = cluster_->Http("GET", "/api/v1/master/list_job?job-type=LOAD&job-state=RUNNING");
  EXPECT_EQ(json::parse(none.body)["jobs"].size(), 0u);
  EXPECT_EQ(cluster_->Http("POST", "/api/v1/master/list_job").status, 200);
}

TEST_F(LoadTest, ReplicasPutEachSegmentOnDistinctWorkers) {
  auto files = MakeDataset("rep", 8);
  ASSERT_EQ(Submit({{"path", "/rep"}, {"options", {{"replicas", 2}}}}).status, 200);
  json done = WaitEnded({{"path", "/rep"}});
  EXPECT_EQ(done["mJobState"], "SUCCEEDED") << done.dump();
  EXPECT_EQ(CachedPages(), 2 * PagesOf(files));
  // The owner of some segments dies: reads move to the next worker, which holds a replica.
  cluster_->SignalWorker(0, SIGKILL);
  EXPECT_EQ(ReadBack(files), 0u);
  EXPECT_EQ(Submit({{"path", "/rep"}, {"options", {{"replicas", 9}}}}).status, 400);
}

// Balanced placement (ring/file_placement.h): 16 segments on 3 workers, at most 6 of each replica
// on one worker, so 12 of the 32 copies (1.125x the mean) whatever the file's name, and reads
// find every segment where the load put it.
TEST_F(LoadTest, ALargeFilesSegmentsSpreadEvenlyAndAreReadWhereLoaded) {
  constexpr uint64_t kSegment = 256 << 10;
  const std::map<std::string, std::string> files = {
      {"/wide/big.bin", WriteRandomFile(cluster_->ufs_root() / "wide/big.bin", 16 * kSegment, 5)}};
  ASSERT_EQ(Submit({{"path", "/wide"}, {"options", {{"replicas", 2}}}}).status, 200);
  json done = WaitEnded({{"path", "/wide"}});
  EXPECT_EQ(done["mJobState"], "SUCCEEDED") << done.dump();
  EXPECT_EQ(CachedPages(), 2 * PagesOf(files));  // waits for the workers' reports to settle
  auto workers = client_->ListWorkers();
  ASSERT_TRUE(workers.ok()) << workers.status();
  for (const client::WorkerInfo& w : *workers) {
    EXPECT_LE(w.pages, 2 * 6 * kSegment / kPage) << w.id;
  }
  EXPECT_EQ(ReadBack(files), 0u) << "every byte should come from the page stores";
}

TEST_F(LoadTest, SkipIfExistsCountsCachedFilesWithoutLoadingThem) {
  auto files = MakeDataset("skip", 6);
  ASSERT_EQ(Submit({{"path", "/skip"}}).status, 200);
  EXPECT_EQ(WaitEnded({{"path", "/skip"}})["mJobState"], "SUCCEEDED");
  ASSERT_EQ(Submit({{"path", "/skip"}, {"options", {{"skipIfExists", "true"}}}}).status, 200);
  json done = WaitEnded({{"path", "/skip"}});
  EXPECT_EQ(done["mJobState"], "SUCCEEDED");
  EXPECT_EQ(done["mLoadedByteCount"], 0u);
  EXPECT_EQ(done["mSkippedByteCount"], TotalBytes(files));
  EXPECT_EQ(done["mSkippedFileCount"], files.size());
}

TEST_F(LoadTest, MetadataOnlyCachesNoData) {
  auto files = MakeDataset("meta", 6);
  ASSERT_EQ(Submit({{"path", "/meta"}, {"options", {{"loadMetadataOnly", true}}}}).status, 200);
  json done = WaitEnded({{"path", "/meta"}});
  EXPECT_EQ(done["mJobState"], "SUCCEEDED");
  EXPECT_EQ(done["mProcessedInodesCount"], files.size());
  EXPECT_EQ(done["mLoadedByteCount"], 0u);
  EXPECT_EQ(CachedPages(), 0u);
  // The statuses are cached, so stat needs no UFS request.
  const uint64_t statuses_before = UfsStatusRequests();
  for (const auto& [path, bytes] : files) {
    auto status = client_->GetStatus(path);
    ASSERT_TRUE(status.ok()) << path << ": " << status.status();
    EXPECT_EQ(status->length, bytes.size()) << path;
  }
  EXPECT_EQ(UfsStatusRequests(), statuses_before);
}

TEST_F(LoadTest, FileFilterLoadsOnlyMatchingPaths) {
  WriteRandomFile(cluster_->ufs_root() / "flt/a.parquet", 1000, 1);
  WriteRandomFile(cluster_->ufs_root() / "flt/b.csv", 1000, 2);
  WriteRandomFile(cluster_->ufs_root() / "flt/x/c.parquet", 1000, 3);
  ASSERT_EQ(Submit({{"path", "/flt"}, {"options", {{"fileFilterRegx", "\\.parquet$"}}}}).status,
            200);
  json done = WaitEnded({{"path", "/flt"}});
  EXPECT_EQ(done["mJobState"], "SUCCEEDED");
  EXPECT_EQ(done["mProcessedInodesCount"], 2u);
  EXPECT_EQ(done["mLoadedByteCount"], 2000u);
}

TEST_F(LoadTest, IndexFileLoadsTheListedPathsAndReportsBadLines) {
  auto files = MakeDataset("idx", 4);
  std::ofstream(cluster_->ufs_root() / "index.txt")
      << "# datasets to warm\n/idx/sub0\n"
      << "file://" << (cluster_->ufs_root() / "idx/sub1/f1.bin").string()
      << "\n\n/idx/missing.bin\n";
  ASSERT_EQ(Submit({{"indexFile", "/index.txt"}}).status, 200);
  json done = WaitEnded({{"indexFile", "/index.txt"}});
  EXPECT_EQ(done["mJobState"], "FAILED") << "a missing file fails the job (threshold 0)";
  EXPECT_EQ(done["mFailedFileCount"], 1u);
  EXPECT_EQ(done["mProcessedInodesCount"], 4u);  // f0, f2 under sub0, f1, and the missing one
  EXPECT_TRUE(done["mFailedFilesWithReasons"].contains("/idx/missing.bin")) << done.dump();
}

TEST_F(LoadTest, BandwidthCapsTheJobsUfsReadRate) {
  for (int i = 0; i < 6; ++i)
    WriteRandomFile(cluster_->ufs_root() / fmt::format("bw/f{}", i), 1 << 20, i);
  ASSERT_EQ(Submit({{"path", "/bw"}, {"options", {{"bandwidth", "2MB"}}}}).status, 200);
  json done = WaitEnded({{"path", "/bw"}});
  EXPECT_EQ(done["mJobState"], "SUCCEEDED");
  const double seconds = done["mTimeElapsed"].get<double>() / 1000;
  const double rate = static_cast<double>(6 << 20) / seconds;
  // Throttling can only add time; allow one burst of a page per worker above the limit.
  EXPECT_LE(rate, (2 << 20) * 1.25) << seconds << " s";
  EXPECT_EQ(done["mBandwidth"], 2 << 20);
}

TEST_F(LoadTest, ProgressWithWaitMsAnswersWhenTheJobEnds) {
  for (int i = 0; i < 8; ++i)
    WriteRandomFile(cluster_->ufs_root() / fmt::format("slow/f{}", i), 1 << 20, i);
  // 8 MiB at 2 MB/s (after a first page per worker at once): running for seconds, so a short
  // wait ends with the job still running.
  ASSERT_EQ(Submit({{"path", "/slow"}, {"options", {{"bandwidth", "2MB"}}}}).status, 200);
  auto progress = [&](int wait_ms) {
    auto reply =
        cluster_->Http("GET", "/api/v1/master/progress_job/load",
                       json{{"path", "/slow"}, {"format", "JSON"}, {"waitMs", wait_ms}}.dump());
    EXPECT_EQ(reply.status, 200) << reply.body;
    return json::parse(reply.body, nullptr, false);
  };
  // Up to three waits of 10 s for the end (a stop drains throttled work, slower under
  // sanitizers): an answer that did not wait would see the job running all three times.
  auto end_state = [&] {
    json p;
    for (int i = 0; i < 3 && (p.is_null() || p["mJobState"] == "RUNNING"); ++i)
      p = progress(10'000);
    return p["mJobState"];
  };
  EXPECT_EQ(progress(100)["mJobState"], "RUNNING");
  ASSERT_EQ(cluster_->Http("POST", "/api/v1/master/stop_job/load", R"({"path": "/slow"})").status,
            200);
  EXPECT_EQ(end_state(), "STOPPED");
  // Resumed (without the cap) it ends, and the answer is its end.
  ASSERT_EQ(Submit({{"path", "/slow"}}).status, 200);
  EXPECT_EQ(end_state(), "SUCCEEDED");
}

TEST_F(LoadTest, VerifyChecksEveryFileIsCached) {
  auto files = MakeDataset("ver", 6);
  ASSERT_EQ(Submit({{"path", "/ver"}, {"options", {{"verify", "true"}}}}).status, 200);
  json done = WaitEnded({{"path", "/ver"}});
  EXPECT_EQ(done["mJobState"], "SUCCEEDED") << done.dump();
  EXPECT_EQ(done["mVerificationEnabled"], true);
  EXPECT_EQ(ReadBack(files), 0u);
}

TEST_F(LoadTest, BadRequestsGetClearJsonErrors) {
  MakeDataset("bad", 2);
  struct Case {
    std::string method, target, body;
    int status;
  };
  const std::string submit = "/api/v1/master/submit_job/load";
  for (const Case& c : std::vector<Case>{
           {"POST", submit, "{not json", 400},
           {"POST", submit,
            R"({"path": "/bad"})"
            "garbage",
            400},
           {"POST", submit, R"(["/bad"])", 400},
           {"POST", submit, R"({"path": 7})", 400},
           {"POST", submit, R"({})", 400},
           {"POST", submit, R"({"path": "/bad", "indexFile": "/i"})", 400},
           {"POST", submit, R"({"path": "/bad", "extra": 1})", 400},
           {"POST", submit, R"({"path": "/bad", "options": {"replicas": "0"}})", 400},
           {"POST", submit, R"({"path": "/bad", "options": {"batchSize": "-1"}})", 400},
           {"POST", submit, R"({"path": "/bad", "options": {"bandwidth": "fast"}})", 400},
           {"POST", submit, R"({"path": "/bad", "options": {"speed": "max"}})", 400},
           {"POST", submit, R"({"path": "/bad", "options": {"fileFilterRegx": "(["}})", 400},
           {"POST", submit, R"({"path": "/../../etc"})", 400},
           {"POST", submit, R"({"path": "file:///not/mounted"})", 400},
           {"POST", submit, R"({"path": "/no/such/dir"})", 404},
           {"GET", "/api/v1/master/progress_job/load", R"({"path": "/never"})", 404},
           {"GET", "/api/v1/master/progress_job/load", R"({"path": "/bad", "format": "XML"})", 400},
           {"GET", "/api/v1/master/progress_job/load", R"({"path": "/bad", "waitMs": -1})", 400},
           {"GET", "/api/v1/master/progress_job/load", R"({"path": "/bad", "waitMs": 60000})", 400},
           {"GET", "/api/v1/master/progress_job/load?path=/bad&waitMs=soon", "", 400},
           {"POST", "/api/v1/master/stop_job/load", R"({"path": "/never"})", 404},
           {"GET", "/api/v1/master/list_job?job-state=DANCING", "", 400},
           {"GET", "/api/v1/master/list_job?job-type=COPY", "", 400},
           {"GET", "/api/v1/master/no_such_endpoint", "", 404},
           {"DELETE", submit, "", 405},
           {"POST", submit, std::string(2 << 20, ' '), 413},
       }) {
    auto reply = cluster_->Http(c.method, c.target, c.body);
    EXPECT_EQ(reply.status, c.status)
        << c.method << " " << c.target << " " << c.body.substr(0, 80) << " -> " << reply.body;
    json j = json::parse(reply.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << reply.body;
    EXPECT_TRUE(j.contains("error") && j.contains("message")) << reply.body;
  }
  // Still up and consistent.
  EXPECT_EQ(Submit({{"path", "/bad"}}).status, 200);
  EXPECT_EQ(WaitEnded({{"path", "/bad"}})["mJobState"], "SUCCEEDED");
}

TEST_F(LoadTest, ResubmitRulesFollowAlluxio) {
  for (int i = 0; i < 4; ++i)
    WriteRandomFile(cluster_->ufs_root() / fmt::format("slow/f{}", i), 1 << 20, i);
  const json slow = {{"path", "/slow"}, {"options", {{"bandwidth", "1MB"}}}};
  auto first = Submit(slow);
  ASSERT_EQ(first.status, 200);
  const std::string id = json::parse(first.body)["jobId"];
  auto again = Submit(slow);
  EXPECT_EQ(again.status, 409);
  EXPECT_NE(again.body.find("Load already running for path '/slow'"), std::string::npos);

  ASSERT_EQ(cluster_->Http("POST", "/api/v1/master/stop_job/load", R"({"path": "/slow"})").status,
            200);
  EXPECT_EQ(WaitEnded({{"path", "/slow"}})["mJobState"], "STOPPED");
  auto resumed = Submit({{"path", "/slow"}});  // no limit this time
  ASSERT_EQ(resumed.status, 200);
  EXPECT_EQ(json::parse(resumed.body)["jobId"], id) << "a stopped job resumes";
  json done = WaitEnded({{"path", "/slow"}});
  EXPECT_EQ(done["mJobState"], "SUCCEEDED");
  EXPECT_EQ(done["mProcessedInodesCount"], 4u);

  auto rerun = Submit({{"path", "/slow"}});
  ASSERT_EQ(rerun.status, 200);
  EXPECT_NE(json::parse(rerun.body)["jobId"], id) << "a finished job runs anew";
}

TEST_F(LoadTest, StopEndsAThrottledJobWithinTwoSecondsAndResubmitResumesFromItsCursor) {
  std::map<std::string, std::string> files;
  for (int i = 0; i < 4; ++i) {  // listed first: done, and committed, before the stop
    const std::string name = fmt::format("/stop/a{}", i);
    files[name] = WriteRandomFile(cluster_->ufs_root() / name.substr(1), 100'000, 200 + i);
  }
  for (int i = 0; i < 8; ++i) {  // a minute of work at 1 MB/s, in flight when the stop comes
    const std::string name = fmt::format("/stop/b{}", i);
    files[name] = WriteRandomFile(cluster_->ufs_root() / name.substr(1), 8 << 20, 300 + i);
  }
  ASSERT_EQ(
      Submit({{"path", "/stop"}, {"options", {{"bandwidth", "1MB"}, {"batchSize", 1}}}}).status,
      200);
  ASSERT_TRUE(WaitProcessed("/stop", 4));

  const auto asked = std::chrono::steady_clock::now();
  ASSERT_EQ(cluster_->Http("POST", "/api/v1/master/stop_job/load", R"({"path": "/stop"})").status,
            200);
  EXPECT_TRUE(Eventually(
      [&] {
        return Progress({{"path", "/stop"}}).value("mJobState", "") == "STOPPED";
      },
      ScaledDeadline(2s)))
      << "still " << Progress({{"path", "/stop"}}).dump() << " after "
      << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               asked)
             .count()
      << " ms";

  // Durable: a restarted coordinator knows the job as STOPPED, with the committed files.
  cluster_->KillCoordinator();
  ASSERT_TRUE(cluster_->StartCoordinator().ok());
  ASSERT_TRUE(cluster_->WaitForLiveWorkers(3, 30s).ok());
  json stopped = Progress({{"path", "/stop"}});
  EXPECT_EQ(stopped["mJobState"], "STOPPED") << stopped.dump();
  EXPECT_EQ(stopped["mProcessedInodesCount"], 4u) << stopped.dump();

  // Resumed after its cursor: the small files are not loaded again, so every byte is counted once.
  ASSERT_EQ(Submit({{"path", "/stop"}}).status, 200);
  json done = WaitEnded({{"path", "/stop"}});
  EXPECT_EQ(done["mJobState"], "SUCCEEDED") << done.dump();
  EXPECT_EQ(done["mProcessedInodesCount"], 12u);
  EXPECT_EQ(done["mLoadedByteCount"].get<uint64_t>(), TotalBytes(files)) << done.dump();
  auto client = cluster_->NewClient();
  ASSERT_TRUE(client.ok()) << client.status();
  client_ = std::move(*client);
  EXPECT_EQ(ReadBack(files), 0u);
}

TEST_F(LoadTest, CoordinatorShutdownMidThrottledJobIsPromptAndTheJobResumes) {
  std::map<std::string, std::string> files;
  for (int i = 0; i < 4; ++i) {
    const std::string name = fmt::format("/down/f{}", i);
    files[name] = WriteRandomFile(cluster_->ufs_root() / name.substr(1), 2 << 20, 400 + i);
  }
  ASSERT_EQ(
      Submit({{"path", "/down"}, {"options", {{"bandwidth", "1MB"}, {"batchSize", 1}}}}).status,
      200);
  ASSERT_TRUE(Eventually(
      [&] {
        return Progress({{"path", "/down"}}).value("mLoadedByteCount", 0) > 0;
      },
      30s));
  const Status stopped = cluster_->StopCoordinator(ScaledDeadline(2s));
  EXPECT_TRUE(stopped.ok()) << stopped;

  ASSERT_TRUE(cluster_->StartCoordinator().ok());
  json done = WaitEnded({{"path", "/down"}});  // resumes, still at 1 MB/s
  EXPECT_EQ(done["mJobState"], "SUCCEEDED") << done.dump();
  EXPECT_EQ(done["mProcessedInodesCount"], 4u);
  auto client = cluster_->NewClient();
  ASSERT_TRUE(client.ok()) << client.status();
  client_ = std::move(*client);
  EXPECT_EQ(ReadBack(files), 0u);
}

TEST_F(LoadTest, CliOutputHasAlluxiosLayout) {
  auto files = MakeDataset("cli", 5);
  auto run = cluster_->Cli("job load /cli --wait");
  EXPECT_EQ(run.exit_code, 0) << run.errors;
  const std::string expected_start = "Load '/cli' is successfully submitted. JobId: ";
  EXPECT_TRUE(run.output.starts_with(expected_start)) << run.output;
  const std::string report = run.output.substr(run.output.find("Progress for loading path"));
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < report.size();) {
    size_t eol = report.find('\n', pos);
    lines.push_back(report.substr(pos, eol - pos));
    pos = eol + 1;
  }
  ASSERT_GE(lines.size(), 7u) << report;
  EXPECT_EQ(lines[0], "Progress for loading path '/cli':");
  EXPECT_EQ(lines[1], "\tSettings:\tbandwidth: unlimited\tverify: false");
  EXPECT_EQ(lines[2], "\tJob State: SUCCEEDED");
  EXPECT_EQ(lines[3], "\tFiles Processed: 5");
  EXPECT_TRUE(lines[4].starts_with("\tBytes Loaded: ")) << lines[4];
  EXPECT_EQ(lines[lines.size() - 2], "\tBlock load failure rate: 0.00%");
  EXPECT_EQ(lines.back(), "\tFiles Failed: 0");

  auto missing = cluster_->Cli("job load /never --progress");
  EXPECT_EQ(missing.exit_code, 4);
  EXPECT_EQ(missing.output, "Load for path '/never' cannot be found.\n");
  auto stop = cluster_->Cli("job load /cli --stop");
  EXPECT_EQ(stop.exit_code, 0);
  EXPECT_NE(stop.output.find("Cannot find load job for path /cli"), std::string::npos);
  auto bad = cluster_->Cli("job load /cli --replicas 0");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.errors.find("Failed to submit load job /cli: INVALID_ARGUMENT: "),
            std::string::npos)
      << bad.errors;  // the server's own code
  EXPECT_EQ(cluster_->Cli("job load").exit_code, 2);
  EXPECT_EQ(cluster_->Cli("job load /a --submit --stop").exit_code, 2);
  auto list = cluster_->Cli("job list --state succeeded");
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.output.find("/cli"), std::string::npos) << list.output;
}

class LoadLimitsTest : public LoadTest {
 protected:
  void SetUp() override { Start({"alluvium.job.max.active=1", "alluvium.job.retention.time=2s"}); }
};

TEST_F(LoadLimitsTest, TooManyJobsAndRetention) {
  for (int i = 0; i < 3; ++i)
    WriteRandomFile(cluster_->ufs_root() / fmt::format("a/f{}", i), 1 << 20, i);
  WriteRandomFile(cluster_->ufs_root() / "b/f", 1000, 9);
  ASSERT_EQ(Submit({{"path", "/a"}, {"options", {{"bandwidth", "1MB"}}}}).status, 200);
  auto refused = Submit({{"path", "/b"}});
  EXPECT_EQ(refused.status, 429);
  EXPECT_NE(refused.body.find("Too many jobs"), std::string::npos);
  EXPECT_EQ(WaitEnded({{"path", "/a"}})["mJobState"], "SUCCEEDED");
  // Past the retention time the finished job is forgotten.
  EXPECT_TRUE(Eventually(
      [&] {
        return Progress({{"path", "/a"}}).value("httpStatus", 0) == 404;
      },
      20s));
}

TEST_F(LoadTest, CoordinatorRestartMidJobResumesWithoutReloading) {
  std::map<std::string, std::string> files;
  for (int i = 0; i < 8; ++i) {
    const std::string name = fmt::format("/crash/f{}", i);
    files[name] = WriteRandomFile(cluster_->ufs_root() / name.substr(1), 512 << 10, i);
  }
  ASSERT_EQ(
      Submit({{"path", "/crash"}, {"options", {{"bandwidth", "1MB"}, {"batchSize", 1}}}}).status,
      200);
  ASSERT_TRUE(WaitProcessed("/crash", 3));
  cluster_->KillCoordinator();
  ASSERT_TRUE(cluster_->StartCoordinator().ok());
  json done = WaitEnded({{"path", "/crash"}});
  EXPECT_EQ(done["mJobState"], "SUCCEEDED") << done.dump();
  EXPECT_EQ(done["mProcessedInodesCount"], 8u);
  EXPECT_LE(done["mLoadedByteCount"].get<uint64_t>(), TotalBytes(files));
  auto client = cluster_->NewClient();
  ASSERT_TRUE(client.ok()) << client.status();
  client_ = std::move(*client);
  EXPECT_EQ(ReadBack(files), 0u);
}

TEST_F(LoadTest, WorkerKilledMidJobItsWorkMovesOn) {
  std::map<std::string, std::string> files;
  for (int i = 0; i < 9; ++i) {
    const std::string name = fmt::format("/kill/f{}", i);
    files[name] = WriteRandomFile(cluster_->ufs_root() / name.substr(1), 512 << 10, 50 + i);
  }
  // verify: segments finished on the dead worker are found missing and loaded on the next one.
  ASSERT_EQ(Submit({{"path", "/kill"},
                    {"options", {{"bandwidth", "2MB"}, {"batchSize", 1}, {"verify", true}}}})
                .status,
            200);
  ASSERT_TRUE(WaitProcessed("/kill", 1));
  cluster_->SignalWorker(1, SIGKILL);
  // A worker leaving moves a few of the other workers' segments too (balanced placement,
  // docs/hashing.md): verification waits for the dead worker to be declared lost and checks
  // again on the survivors' placement, whenever the kill lands.
  json done = WaitEnded({{"path", "/kill"}});
  EXPECT_EQ(done["mJobState"], "SUCCEEDED") << done.dump();
  EXPECT_EQ(done["mFailedFileCount"], 0u);
  ASSERT_TRUE(cluster_->WaitForLiveWorkers(2, 20s).ok());
  EXPECT_EQ(ReadBack(files), 0u) << "everything is cached on the surviving workers";
}

class LoadListingAheadTest : public LoadTest {
 protected:
  void SetUp() override { Start({"alluvium.job.load.listing.ahead=4"}); }
};

// The listing holds 4 files ahead: the rest is counted past the bound and relisted for loading.
TEST_F(LoadListingAheadTest, ListingPastTheBoundLoadsEveryFileOnceAndKnowsTheTotal) {
  auto files = MakeDataset("ahead", 40, 300'000);
  ASSERT_EQ(Submit({{"path", "/ahead"}, {"options", {{"batchSize", 2}}}}).status, 200);
  json done = WaitEnded({{"path", "/ahead"}});
  EXPECT_EQ(done["mJobState"], "SUCCEEDED") << done.dump();
  EXPECT_EQ(done["mProcessedInodesCount"], 40u);
  EXPECT_EQ(done["mTotalByteCount"], TotalBytes(files));
  EXPECT_EQ(done["mLoadedByteCount"], TotalBytes(files));  // none twice
  EXPECT_EQ(ReadBack(files), 0u);
  EXPECT_EQ(CachedPages(), PagesOf(files));
}

class LoadNoWorkerTest : public LoadTest {
 protected:
  void SetUp() override {
    Start({"alluvium.job.load.no.worker.timeout=2s", "alluvium.coordinator.worker.timeout=4s"});
  }
};

TEST_F(LoadNoWorkerTest, JobWithNoLiveWorkerFailsAfterTheTimeoutInsteadOfWaitingForever) {
  constexpr int kFiles = 100;
  for (int i = 0; i < kFiles; ++i)
    WriteRandomFile(cluster_->ufs_root() / fmt::format("gone/f{:03}", i), 64 << 10, i);
  ASSERT_EQ(
      Submit({{"path", "/gone"}, {"options", {{"bandwidth", "1MB"}, {"batchSize", 1}}}}).status,
      200);
  ASSERT_TRUE(WaitProcessed("/gone", 1));
  // Stopped, not killed: their calls hang until they are marked lost, so the job is still part
  // way through the listing when it finds no live worker.
  for (int i = 0; i < cluster_->worker_count(); ++i) cluster_->SignalWorker(i, SIGSTOP);
  // --wait follows the job to its end and exits 1 for FAILED, with the reason in the report.
  auto waited = cluster_->Cli("job load /gone --progress --wait");
  EXPECT_EQ(waited.exit_code, 1) << waited.output << waited.errors;
  EXPECT_NE(waited.output.find("no live worker to load on for 2s"), std::string::npos)
      << waited.output;
  json done = Progress({{"path", "/gone"}});
  EXPECT_EQ(done["mJobState"], "FAILED") << done.dump();
  // With no worker the job stopped taking files from the listing, instead of holding all the
  // rest in memory as retries.
  EXPECT_LT(done["mScannedInodesCount"].get<int>(), kFiles) << done.dump();

  // Workers back: the same path can be loaded again, and finishes.
  for (int i = 0; i < cluster_->worker_count(); ++i) cluster_->SignalWorker(i, SIGCONT);
  ASSERT_TRUE(cluster_->WaitForLiveWorkers(3, 20s).ok());
  ASSERT_EQ(Submit({{"path", "/gone"}}).status, 200);
  EXPECT_EQ(WaitEnded({{"path", "/gone"}})["mJobState"], "SUCCEEDED");
}

}  // namespace
}  // namespace alluvium::testing
