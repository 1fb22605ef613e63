#include "coordinator/jobs/load_progress.h"

#include <cmath>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace alluvium::coordinator {
namespace {

using nlohmann::json;

constexpr int64_t kStart = 1'700'000'000'000;

// The example of Alluxio's cache-preloading page: 1000 files, 125.00MB in 51.x seconds.
LoadProgress ReferenceExample() {
  LoadProgress p;
  p.path = "/path";
  p.job_id = "job-1";
  p.state = JobState::kSucceeded;
  p.start_ms = kStart;
  p.end_ms = kStart + 51'700;  // floor(51.7 s) = 51: 131072000 / 51 = 2570039 B/s
  p.listing_done = true;
  p.total_known = true;
  p.files_scanned = 1000;
  p.files_processed = 1000;
  p.bytes_total = 131'072'000;
  p.bytes_loaded = 131'072'000;
  p.subtasks_total = 1000;
  return p;
}

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(LoadProgressTextTest, ReferenceExampleIsByteIdentical) {
  EXPECT_EQ(FormatProgressText(ReferenceExample(), /*verbose=*/false, kStart + 999'999),
            "Progress for loading path '/path':\n"
            "\tSettings:\tbandwidth: unlimited\tverify: false\n"
            "\tJob State: SUCCEEDED\n"
            "\tFiles Processed: 1000\n"
            "\tBytes Loaded: 125.00MB\n"
            "\tThroughput: 2509.80KB/s\n"
            "\tBlock load failure rate: 0.00%\n"
            "\tFiles Failed: 0\n");
}

TEST(LoadProgressTextTest, VerboseFailedJobListsFailedFiles) {
  LoadProgress p;
  p.path = "s3://b/dir";
  p.job_id = "job-7";
  p.state = JobState::kFailed;
  p.failure_reason = "Job partially failed.";
  p.options.bandwidth = 10'485'760;
  p.options.verify = true;
  p.start_ms = kStart;
  p.end_ms = kStart + 3'723'000;  // 01:02:03
  p.listing_done = true;
  p.total_known = true;
  p.files_scanned = 12;
  p.files_processed = 10;
  p.files_failed = 2;
  p.bytes_total = 2048;
  p.bytes_loaded = 1024;
  p.subtasks_total = 8;
  p.subtasks_failed = 2;
  p.subtasks_retried = 4;
  p.failed_files = {{"s3://b/dir/a", "NOT_FOUND: gone"}, {"s3://b/dir/b", "PERMISSION_DENIED: no"}};
  p.failed_files_saved_to = "/var/alluvium/failed/s3___b_dir";
  EXPECT_EQ(FormatProgressText(p, /*verbose=*/true, kStart + 99'999'999),
            "Progress for loading path 's3://b/dir':\n"
            "\tSettings:\tbandwidth: 10485760\tverify: true\n"
            "\tTime Elapsed: 01:02:03\n"
            "\tJob Id: job-7\n"
            "\tJob State: FAILED (Job partially failed.)\n"
            "\tFiles Scanned: 12\n"
            "\tFiles Processed: 10\n"
            "\tBytes Loaded: 1024B out of 2048B\n"
            "\tThroughput: 0B/s\n"
            "\tBlock load failure rate: 25.00%\n"
            "\tFiles Failed: 2\n"
            "\tSubtask Retry rate: 50.00%\n"
            "\tFailed files:\n"
            "\t\ts3://b/dir/a: NOT_FOUND: gone\n"
            "\t\ts3://b/dir/b: PERMISSION_DENIED: no\n"
            "\tFailed files saved to: /var/alluvium/failed/s3___b_dir\n");
}

TEST(LoadProgressTextTest, FailedFilesListedOnlyWhenVerbose) {
  LoadProgress p = ReferenceExample();
  p.failed_files = {{"/path/x", "NOT_FOUND: gone"}};
  p.failed_files_saved_to = "/saved";
  const std::string text = FormatProgressText(p, /*verbose=*/false, 0);
  EXPECT_FALSE(Contains(text, "/path/x")) << text;
  EXPECT_TRUE(Contains(text, "\tFailed files saved to: /saved\n")) << text;
}

TEST(LoadProgressTextTest, FailureReasonOnlyWhenFailed) {
  LoadProgress p = ReferenceExample();
  p.failure_reason = "stale";
  EXPECT_TRUE(Contains(FormatProgressText(p, false, 0), "\tJob State: SUCCEEDED\n"));
}

TEST(LoadProgressTextTest, VerboseRunningJobShowsStageAndElapsedFromNow) {
  LoadProgress p = ReferenceExample();
  p.state = JobState::kRunning;
  p.end_ms = 0;
  p.listing_done = false;
  p.total_known = false;
  const std::string listing = FormatProgressText(p, /*verbose=*/true, kStart + 125'000);
  EXPECT_TRUE(Contains(listing, "\tTime Elapsed: 00:02:05\n")) << listing;
  EXPECT_TRUE(Contains(listing, "\tStage: LISTING\n")) << listing;
  // No total until the count is done: it is not known yet.
  EXPECT_TRUE(Contains(listing, "\tBytes Loaded: 125.00MB\n")) << listing;

  p.total_known = true;  // counted while the load still lists
  EXPECT_TRUE(Contains(FormatProgressText(p, true, kStart + 125'000),
                       "\tBytes Loaded: 125.00MB out of 125.00MB\n"));

  p.listing_done = true;
  const std::string loading = FormatProgressText(p, /*verbose=*/true, kStart + 125'000);
  EXPECT_TRUE(Contains(loading, "\tStage: LOADING\n")) << loading;
  EXPECT_TRUE(Contains(loading, "\tBytes Loaded: 125.00MB out of 125.00MB\n")) << loading;

  p.state = JobState::kVerifying;
  EXPECT_TRUE(Contains(FormatProgressText(p, true, kStart + 125'000), "\tStage: VERIFYING\n"));

  p.state = JobState::kStopped;
  p.end_ms = kStart + 1000;
  EXPECT_FALSE(Contains(FormatProgressText(p, true, kStart + 125'000), "Stage"));
}

TEST(LoadProgressTextTest, PartialListingHasNoTotal) {
  LoadProgress p = ReferenceExample();
  p.options.partial_listing = true;
  EXPECT_TRUE(Contains(FormatProgressText(p, true, 0), "\tBytes Loaded: 125.00MB\n"));
}

TEST(LoadProgressTextTest, ElapsedHoursMayExceed24) {
  LoadProgress p = ReferenceExample();
  p.end_ms = kStart + 100LL * 3600 * 1000 + 59'999;
  EXPECT_TRUE(Contains(FormatProgressText(p, true, 0), "\tTime Elapsed: 100:00:59\n"));
}

TEST(LoadProgressTextTest, MetadataOnlyOmitsBytesAndThroughput) {
  LoadProgress p = ReferenceExample();
  p.options.metadata_only = true;
  p.options.skip_if_exists = true;
  EXPECT_EQ(FormatProgressText(p, /*verbose=*/false, 0),
            "Progress for loading path '/path':\n"
            "\tSettings:\tbandwidth: unlimited\tverify: false\tmetadata-only: true\n"
            "\tJob State: SUCCEEDED\n"
            "\tFiles Processed: 1000\n"
            "\tFiles Skipped: 0\n"
            "\tBlock load failure rate: 0.00%\n"
            "\tFiles Failed: 0\n");
}

TEST(LoadProgressTextTest, SkipIfExistsAddsSkippedLines) {
  LoadProgress p = ReferenceExample();
  p.options.skip_if_exists = true;
  p.files_skipped = 3;
  p.bytes_skipped = 6 * 1024 * 1024;
  EXPECT_EQ(FormatProgressText(p, /*verbose=*/false, 0),
            "Progress for loading path '/path':\n"
            "\tSettings:\tbandwidth: unlimited\tverify: false\n"
            "\tJob State: SUCCEEDED\n"
            "\tFiles Processed: 1000\n"
            "\tFiles Skipped: 3\n"
            "\tBytes Loaded: 125.00MB\n"
            "\tBytes Skipped: 6.00MB\n"
            "\tThroughput: 2509.80KB/s\n"
            "\tBlock load failure rate: 0.00%\n"
            "\tFiles Failed: 0\n");
}

TEST(LoadProgressTextTest, ThroughputOmittedUnderOneSecond) {
  LoadProgress p = ReferenceExample();
  p.end_ms = kStart + 999;
  EXPECT_FALSE(Contains(FormatProgressText(p, false, 0), "Throughput"));
  p.end_ms = kStart + 1000;
  EXPECT_TRUE(Contains(FormatProgressText(p, false, 0), "\tThroughput: 125.00MB/s\n"));
  // A clock that went backwards is not a negative duration.
  p.end_ms = kStart - 5000;
  EXPECT_FALSE(Contains(FormatProgressText(p, false, 0), "Throughput"));
}

TEST(LoadProgressTextTest, FailureRateMath) {
  LoadProgress p = ReferenceExample();
  p.subtasks_total = 3;
  p.subtasks_failed = 1;
  EXPECT_TRUE(Contains(FormatProgressText(p, false, 0), "\tBlock load failure rate: 33.33%\n"));
  p.subtasks_failed = 2;
  EXPECT_TRUE(Contains(FormatProgressText(p, false, 0), "\tBlock load failure rate: 66.67%\n"));
  p.subtasks_failed = 3;
  EXPECT_TRUE(Contains(FormatProgressText(p, false, 0), "\tBlock load failure rate: 100.00%\n"));
  p.subtasks_total = 0;
  p.subtasks_failed = 0;
  EXPECT_TRUE(Contains(FormatProgressText(p, false, 0), "\tBlock load failure rate: 0.00%\n"));
}

json ParseJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << text;
  EXPECT_TRUE(j.is_object()) << text;
  return j;
}

TEST(LoadProgressJsonTest, KeysAndTypes) {
  LoadProgress p = ReferenceExample();
  p.options.bandwidth = 1000;
  p.options.skip_if_exists = true;
  p.files_skipped = 4;
  p.bytes_skipped = 4096;
  p.files_failed = 10;
  p.subtasks_failed = 5;
  p.subtasks_retried = 20;
  const json j = ParseJson(FormatProgressJson(p, /*verbose=*/false, 0));
  EXPECT_EQ(j.at("path"), "/path");
  EXPECT_EQ(j.at("jobId"), "job-1");
  EXPECT_EQ(j.at("mJobState"), "SUCCEEDED");
  EXPECT_EQ(j.at("mVerbose"), false);
  EXPECT_EQ(j.at("mBandwidth"), 1000);
  EXPECT_EQ(j.at("mVerificationEnabled"), false);
  EXPECT_EQ(j.at("mSkipIfExists"), true);
  EXPECT_EQ(j.at("mMetadataOnly"), false);
  EXPECT_EQ(j.at("mPartialListing"), false);
  EXPECT_TRUE(j.at("mLoadedByteCount").is_number_integer());
  EXPECT_EQ(j.at("mLoadedByteCount"), 131'072'000);
  EXPECT_EQ(j.at("mSkippedByteCount"), 4096);
  EXPECT_EQ(j.at("mTotalByteCount"), 131'072'000);
  EXPECT_EQ(j.at("mThroughput"), 2'570'039);
  EXPECT_EQ(j.at("mScannedInodesCount"), 1000);
  EXPECT_EQ(j.at("mProcessedInodesCount"), 1000);
  EXPECT_EQ(j.at("mProcessedFileCount"), 1000);
  EXPECT_EQ(j.at("mSkippedFileCount"), 4);
  EXPECT_EQ(j.at("mFailedFileCount"), 10);
  ASSERT_TRUE(j.at("mFailureFilesPercentage").is_number_float());
  EXPECT_DOUBLE_EQ(j.at("mFailureFilesPercentage").get<double>(), 1.0);
  ASSERT_TRUE(j.at("mFailureSubTasksPercentage").is_number_float());
  EXPECT_DOUBLE_EQ(j.at("mFailureSubTasksPercentage").get<double>(), 0.5);
  ASSERT_TRUE(j.at("mRetrySubTasksPercentage").is_number_float());
  EXPECT_DOUBLE_EQ(j.at("mRetrySubTasksPercentage").get<double>(), 2.0);
  EXPECT_FALSE(j.contains("mFailureReason"));
  EXPECT_EQ(j.at("mRunningStage"), "");
  EXPECT_EQ(j.at("mTimeElapsed"), 51'700);
  EXPECT_EQ(j.at("mStartTime"), kStart);
  EXPECT_EQ(j.at("mEndTime"), kStart + 51'700);
  EXPECT_FALSE(j.contains("mFailedFileSavedPath"));
  EXPECT_FALSE(j.contains("mFailedFilesWithReasons"));
  ASSERT_TRUE(j.at("mRecentFailedSubtasksWithReasons").is_array());
  EXPECT_TRUE(j.at("mRecentFailedSubtasksWithReasons").empty());
}

TEST(LoadProgressJsonTest, OptionalKeysOmitted) {
  LoadProgress p = ReferenceExample();
  p.state = JobState::kRunning;
  p.end_ms = 0;
  p.options.partial_listing = true;
  const json j = ParseJson(FormatProgressJson(p, /*verbose=*/false, kStart + 500));
  EXPECT_FALSE(j.contains("mBandwidth"));
  EXPECT_FALSE(j.contains("mTotalByteCount"));
  EXPECT_FALSE(j.contains("mThroughput"));
  EXPECT_FALSE(j.contains("mEndTime"));
  EXPECT_EQ(j.at("mTimeElapsed"), 500);
  EXPECT_EQ(j.at("mRunningStage"), "");  // not verbose
}

TEST(LoadProgressJsonTest, ZeroDenominatorsGiveZeroNotNaN) {
  LoadProgress p;
  p.path = "/empty";
  const json j = ParseJson(FormatProgressJson(p, /*verbose=*/true, 0));
  for (const char* key :
       {"mFailureFilesPercentage", "mFailureSubTasksPercentage", "mRetrySubTasksPercentage"}) {
    ASSERT_TRUE(j.at(key).is_number()) << key;
    EXPECT_EQ(j.at(key).get<double>(), 0.0) << key;
  }
}

TEST(LoadProgressJsonTest, VerboseCarriesFailuresAndStage) {
  LoadProgress p = ReferenceExample();
  p.state = JobState::kFailed;
  p.failure_reason = "Job partially failed.";
  p.files_failed = 1;
  p.failed_files = {{"/path/a", "NOT_FOUND: gone"}};
  p.failed_files_saved_to = "/saved";
  const json j = ParseJson(FormatProgressJson(p, /*verbose=*/true, 0));
  EXPECT_EQ(j.at("mVerbose"), true);
  EXPECT_EQ(j.at("mJobState"), "FAILED");
  EXPECT_EQ(j.at("mFailureReason"), "Job partially failed.");
  EXPECT_EQ(j.at("mFailedFileSavedPath"), "/saved");
  EXPECT_EQ(j.at("mFailedFilesWithReasons"), json({{"/path/a", "NOT_FOUND: gone"}}));
  EXPECT_EQ(j.at("mRecentFailedSubtasksWithReasons"), json::array({"/path/a: NOT_FOUND: gone"}));
  EXPECT_EQ(j.at("mRunningStage"), "");  // not active

  p.state = JobState::kRunning;
  p.end_ms = 0;
  p.listing_done = false;
  const json running = ParseJson(FormatProgressJson(p, /*verbose=*/true, kStart + 2000));
  EXPECT_EQ(running.at("mRunningStage"), "LISTING");
}

TEST(LoadProgressJsonTest, InvalidUtf8DoesNotThrow) {
  LoadProgress p = ReferenceExample();
  p.path = "/bad\xff";
  p.failed_files = {{"/bad\xfe", "x"}};
  const json j = ParseJson(FormatProgressJson(p, /*verbose=*/true, 0));
  EXPECT_TRUE(j.at("path").is_string());
}

}  // namespace
}  // namespace alluvium::coordinator
