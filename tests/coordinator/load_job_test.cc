// LoadJob against a fake worker client and a local directory as its UFS: what the driver does
// with each answer a worker can give (retries, failures, capacity refusals), stop, resume and
// verify. Waits for the job's state, never for a guessed time.
#include "coordinator/scheduler/load_job.h"

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <set>

#include <gtest/gtest.h>

#include "coordinator/membership/worker_registry.h"
#include "coordinator/scheduler/placement.h"
#include "testing/eventually.h"
#include "testing/scoped_temp_dir.h"
#include "ufs/local_ufs.h"

namespace alluvium::coordinator {
namespace {

using namespace std::chrono_literals;
using testing::Eventually;
using testing::ScopedTempDir;

constexpr uint64_t kSegment = 100;

// Loads every item unless `answer` says otherwise, and remembers which worker was asked for
// which segment. Load blocks until cancelled while `block` is set.
class FakeWorkers final : public WorkerLoadClient {
 public:
  struct Asked {
    std::string address;
    SegmentRef item;
  };
  // The item's outcome, or std::nullopt to load it; a non-OK `call` fails the whole call.
  std::function<std::optional<Status>(const std::string& address, const SegmentRef& item)> answer;
  std::function<Status(const std::string& address)> call;
  // Loads of these URIs are "lost" the first time: the worker says done, but holds nothing.
  std::set<std::string> lose_first_load;
  bool block = false;

  Result<std::vector<ItemOutcome>> Load(const std::string& address, const LoadCall& load,
                                        std::chrono::milliseconds /*timeout*/,
                                        std::stop_token cancel) override {
    std::unique_lock lock(mu_);
    for (const SegmentRef& item : load.items) asked_.push_back({address, item});
    if (block) {
      ++blocked_;
      changed_.wait(lock, cancel, [] { return false; });
      saw_cancel_ = true;
      return Cancelled("cancelled by the job");
    }
    if (call) ALLUVIUM_RETURN_IF_ERROR(call(address));
    std::vector<ItemOutcome> out;
    for (const SegmentRef& item : load.items) {
      const std::optional<Status> refusal = answer ? answer(address, item) : std::nullopt;
      if (refusal) {
        out.push_back({.status = *refusal});
        continue;
      }
      if (!lose_first_load.erase(item.status.uri)) cached_[{address, Key(item)}] = item.length;
      out.push_back({.bytes_loaded = item.length});
    }
    return out;
  }

  Result<std::vector<uint64_t>> CachedBytes(const std::string& address,
                                            const std::vector<SegmentRef>& items,
                                            std::chrono::milliseconds /*timeout*/,
                                            std::stop_token /*cancel*/) override {
    std::lock_guard lock(mu_);
    std::vector<uint64_t> out;
    for (const SegmentRef& item : items) {
      auto it = cached_.find({address, Key(item)});
      out.push_back(it == cached_.end() ? 0 : it->second);
    }
    return out;
  }

  Result<uint64_t> EndLoad(const std::string&, const std::string&,
                           std::chrono::milliseconds) override {
    return 0;
  }
  void CancelCalls(const std::string&) override {}

  std::vector<Asked> asked() {
    std::lock_guard lock(mu_);
    return asked_;
  }
  // The workers asked to load the segment at `offset` of `uri`, in order.
  std::vector<std::string> AddressesFor(const std::string& uri, uint64_t offset = 0) {
    std::vector<std::string> out;
    for (const Asked& a : asked()) {
      if (a.item.status.uri == uri && a.item.offset == offset) out.push_back(a.address);
    }
    return out;
  }
  int blocked() {
    std::lock_guard lock(mu_);
    return blocked_;
  }
  bool saw_cancel() {
    std::lock_guard lock(mu_);
    return saw_cancel_;
  }

 private:
  static std::string Key(const SegmentRef& item) {
    return item.status.uri + "@" + std::to_string(item.offset);
  }

  std::mutex mu_;
  std::condition_variable_any changed_;
  std::vector<Asked> asked_;                                        // guarded by mu_
  std::map<std::pair<std::string, std::string>, uint64_t> cached_;  // guarded by mu_
  int blocked_ = 0;                                                 // guarded by mu_
  bool saw_cancel_ = false;                                         // guarded by mu_
};

class LoadJobTest : public ::testing::Test {
 protected:
  LoadJobTest() : registry_(1h), placement_(registry_, {.segment_size = kSegment}) {
    registry_.Register("w1", "a:1", {.capacity_bytes = 1000});
    registry_.Register("w2", "a:2", {.capacity_bytes = 1000});
    std::filesystem::create_directory(dir_.path() / "data");
  }

  std::string Uri(const std::string& name) const {
    return "file://" + (dir_.path() / "data" / name).string();
  }
  void WriteFile(const std::string& name, uint64_t bytes) {
    std::ofstream(dir_.path() / "data" / name) << std::string(bytes, 'x');
  }

  LoadJobRecord NewRecord(LoadOptions options = {}) {
    LoadJobRecord r;
    r.target_uri = r.key = "file://" + (dir_.path() / "data").string();
    r.progress.path = "/data";
    r.progress.job_id = "job-1";
    r.progress.options = options;
    return r;
  }

  std::unique_ptr<LoadJob> Start(LoadJobRecord record, double failure_ratio = 0.0) {
    LoadJobEnv env{
        .placement = placement_,
        .workers = workers_,
        .open_fs = [](std::string_view) -> Result<std::shared_ptr<ufs::FileSystem>> {
          return std::shared_ptr<ufs::FileSystem>(std::make_shared<ufs::LocalFileSystem>());
        },
        .resolve = [](std::string_view uri) -> Result<std::string> { return std::string(uri); },
        .persist =
            [this](const LoadJobRecord& r) {
              std::lock_guard lock(mu_);
              persisted_ = r;
            },
        .worker_at = [this](const std::string& address) -> std::optional<WorkerRecord> {
          for (const WorkerRecord& w : registry_.Snapshot()) {
            if (w.address == address) return w;
          }
          return std::nullopt;
        },
        .tuning = {.retry_backoff = 1ms,
                   .failure_ratio_threshold = failure_ratio,
                   .commit_interval = 10ms,
                   .failed_list_dir = dir_.path() / "failed"}};
    auto job = std::make_unique<LoadJob>(std::move(record), std::move(env));
    job->Start();
    return job;
  }

  // The job's state once it has ended.
  static JobState Ended(LoadJob& job) {
    EXPECT_TRUE(Eventually(
        [&] {
          const JobState s = job.state();
          return s != JobState::kRunning && s != JobState::kVerifying;
        },
        10s));
    return job.state();
  }

  LoadJobRecord persisted() {
    std::lock_guard lock(mu_);
    return persisted_;
  }

  ScopedTempDir dir_;
  WorkerRegistry registry_;
  Placement placement_;
  FakeWorkers workers_;
  std::mutex mu_;
  LoadJobRecord persisted_;  // guarded by mu_
};

TEST_F(LoadJobTest, LoadsEverySegmentAndCountsIt) {
  WriteFile("a", 250);  // 3 segments
  WriteFile("b", 100);
  WriteFile("c", 0);  // one segment of no bytes: the worker records its status
  auto job = Start(NewRecord());
  ASSERT_EQ(Ended(*job), JobState::kSucceeded) << job->Progress().failure_reason;

  const LoadProgress p = job->Progress();
  EXPECT_EQ(p.files_scanned, 3u);
  EXPECT_EQ(p.files_processed, 3u);
  EXPECT_EQ(p.files_failed, 0u);
  EXPECT_EQ(p.subtasks_total, 5u);
  EXPECT_EQ(p.bytes_total, 350u);
  EXPECT_EQ(p.bytes_loaded, 350u);
  EXPECT_EQ(workers_.asked().size(), 5u);
  EXPECT_EQ(persisted().progress.state, JobState::kSucceeded);
  EXPECT_EQ(persisted().cursor, Uri("c"));
}

TEST_F(LoadJobTest, RetriesAUfsErrorOnTheSameWorker) {
  WriteFile("a", 50);
  int failures = 2;
  workers_.answer = [&](const std::string&, const SegmentRef&) -> std::optional<Status> {
    if (failures-- > 0) return Unavailable("UFS slow down");
    return std::nullopt;
  };
  auto job = Start(NewRecord());
  ASSERT_EQ(Ended(*job), JobState::kSucceeded) << job->Progress().failure_reason;

  EXPECT_EQ(job->Progress().subtasks_retried, 2u);
  const auto asked = workers_.AddressesFor(Uri("a"));
  ASSERT_EQ(asked.size(), 3u);
  EXPECT_EQ(std::set<std::string>(asked.begin(), asked.end()).size(), 1u);
}

TEST_F(LoadJobTest, RetriesAFailedCallOnAnotherWorker) {
  WriteFile("a", 50);
  std::string failed;
  workers_.call = [&](const std::string& address) {
    if (failed.empty()) failed = address;
    return address == failed ? Unavailable("worker down") : OkStatus();
  };
  auto job = Start(NewRecord());
  ASSERT_EQ(Ended(*job), JobState::kSucceeded) << job->Progress().failure_reason;

  EXPECT_EQ(job->Progress().subtasks_retried, 1u);
  const auto asked = workers_.AddressesFor(Uri("a"));
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked[0], failed);
  EXPECT_NE(asked[1], failed);
}

class LoadJobFailureRatioTest : public LoadJobTest {
 protected:
  // Four files, of which "bad" fails for good (NOT_FOUND is not worth another try).
  std::unique_ptr<LoadJob> StartWithOneBadFile(double failure_ratio) {
    for (const char* name : {"a", "b", "bad", "c"}) WriteFile(name, 10);
    workers_.answer = [this](const std::string&, const SegmentRef& item) -> std::optional<Status> {
      if (item.status.uri == Uri("bad")) return NotFound("gone from the UFS");
      return std::nullopt;
    };
    return Start(NewRecord(), failure_ratio);
  }
};

TEST_F(LoadJobFailureRatioTest, AboveTheThresholdTheJobFails) {
  auto job = StartWithOneBadFile(0.2);
  ASSERT_EQ(Ended(*job), JobState::kFailed);
  const LoadProgress p = job->Progress();
  EXPECT_EQ(p.failure_reason, "1 of 4 files failed to load");
  ASSERT_EQ(p.failed_files.size(), 1u);
  EXPECT_EQ(p.failed_files[0].path, Uri("bad"));
  EXPECT_TRUE(p.failed_files[0].reason.starts_with("NOT_FOUND: worker a:"))
      << p.failed_files[0].reason;
  EXPECT_TRUE(p.failed_files[0].reason.ends_with(": gone from the UFS"));
  // The failed-file list names it, and the stored record says where the list is.
  std::ifstream list(persisted().progress.failed_files_saved_to);
  std::string line;
  ASSERT_TRUE(std::getline(list, line));
  EXPECT_EQ(line, Uri("bad"));
}

TEST_F(LoadJobFailureRatioTest, AtOrBelowTheThresholdTheJobSucceeds) {
  auto job = StartWithOneBadFile(0.25);
  ASSERT_EQ(Ended(*job), JobState::kSucceeded);
  EXPECT_EQ(job->Progress().files_failed, 1u);
}

TEST_F(LoadJobTest, StopCancelsTheCallsInFlight) {
  WriteFile("a", 50);
  workers_.block = true;
  auto job = Start(NewRecord());
  ASSERT_TRUE(Eventually([&] { return workers_.blocked() > 0; }, 10s));

  job->RequestStop();
  ASSERT_TRUE(Eventually([&] { return job->state() == JobState::kStopped; }, 2s));
  EXPECT_TRUE(workers_.saw_cancel());
  EXPECT_EQ(persisted().progress.state, JobState::kStopped);
  EXPECT_EQ(persisted().cursor, "");  // nothing finished: a resubmit starts from the top
}

TEST_F(LoadJobTest, ResumesAfterTheCommittedCursor) {
  for (const char* name : {"a", "b", "c"}) WriteFile(name, 10);
  LoadJobRecord record = NewRecord();
  record.cursor = Uri("a");
  record.progress.files_scanned = record.progress.files_processed = 1;
  record.progress.bytes_total = record.progress.bytes_loaded = 10;
  record.progress.subtasks_total = 1;
  auto job = Start(std::move(record));
  ASSERT_EQ(Ended(*job), JobState::kSucceeded) << job->Progress().failure_reason;

  EXPECT_TRUE(workers_.AddressesFor(Uri("a")).empty());
  EXPECT_EQ(workers_.asked().size(), 2u);
  const LoadProgress p = job->Progress();
  EXPECT_EQ(p.files_processed, 3u);
  EXPECT_EQ(p.bytes_loaded, 30u);
}

TEST_F(LoadJobTest, VerifyReloadsASegmentTheWorkerDoesNotHold) {
  WriteFile("a", 10);
  WriteFile("b", 10);
  workers_.lose_first_load = {Uri("b")};
  auto job = Start(NewRecord({.verify = true}));
  ASSERT_EQ(Ended(*job), JobState::kSucceeded) << job->Progress().failure_reason;

  EXPECT_EQ(workers_.AddressesFor(Uri("a")).size(), 1u);
  const auto b = workers_.AddressesFor(Uri("b"));
  ASSERT_EQ(b.size(), 2u);  // loaded, found missing, reloaded on its owner
  EXPECT_EQ(b[0], b[1]);
  EXPECT_EQ(job->Progress().files_failed, 0u);
}

TEST_F(LoadJobTest, ACapacityRefusalSaysWhichWorkerIsFull) {
  WriteFile("a", 50);
  workers_.answer = [](const std::string&, const SegmentRef&) -> std::optional<Status> {
    return FailedPrecondition("pinned pages fill the cache");
  };
  auto job = Start(NewRecord());
  ASSERT_EQ(Ended(*job), JobState::kFailed);

  const LoadProgress p = job->Progress();
  const std::string owner = workers_.AddressesFor(Uri("a")).at(0) == "a:1" ? "w1" : "w2";
  EXPECT_NE(p.failure_reason.find("1 of 1 files failed to load; " + owner + ": "),
            std::string::npos)
      << p.failure_reason;
  EXPECT_NE(p.failure_reason.find("of this job exceed its"), std::string::npos);
  ASSERT_EQ(p.failed_files.size(), 1u);
  EXPECT_NE(p.failed_files[0].reason.find("pinned pages fill the cache"), std::string::npos);
  EXPECT_EQ(workers_.AddressesFor(Uri("a")).size(), 1u);  // final: not retried
}

}  // namespace
}  // namespace alluvium::coordinator
