#include "coordinator/jobs/load_job_record.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace alluvium::coordinator {
namespace {

LoadJobRecord SampleRecord() {
  LoadJobRecord r;
  r.key = "load:file:///srv/data/train";
  r.target_uri = "file:///srv/data/train";
  r.cursor = "file:///srv/data/train/part-0007";
  r.progress.total_known = true;
  r.progress.path = "/data/train";
  r.progress.job_id = "0f8e2a1c-1b2c-4d3e-8f4a-5b6c7d8e9f00";
  r.progress.options.replicas = 2;
  r.progress.options.bandwidth = 1 << 30;
  r.progress.start_ms = 1706700000000;
  r.progress.files_scanned = 10;
  r.progress.bytes_loaded = 1ull << 40;
  r.progress.failed_files = {{"file:///srv/data/train/part-0003", "NOT_FOUND: gone"}};
  return r;
}

TEST(LoadJobRecordTest, RoundTripsThroughJson) {
  const nlohmann::json stored = SampleRecord().ToJson();
  auto record = LoadJobRecord::FromJson(stored);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->ToJson(), stored);
  EXPECT_TRUE(record->progress.total_known);
}

// Found by fuzz/job_record_fuzzer: nlohmann's get<uint64_t> converted 1e300 or -1.5 (undefined
// behaviour) and -1 (to 2^64 - 1) instead of refusing the damaged record.
TEST(LoadJobRecordTest, RefusesCountersThatAreNotWholeNumbers) {
  for (const char* key : {"filesScanned", "bytesLoaded", "subtasksRetried", "startMs"}) {
    for (const nlohmann::json& bad :
         {nlohmann::json(1e300), nlohmann::json(-1.5), nlohmann::json(2.0), nlohmann::json("7")}) {
      nlohmann::json stored = SampleRecord().ToJson();
      stored[key] = bad;
      EXPECT_EQ(LoadJobRecord::FromJson(stored).status().code(), Code::kDataLoss)
          << key << "=" << bad.dump();
    }
  }
  nlohmann::json stored = SampleRecord().ToJson();
  stored["filesFailed"] = -1;
  EXPECT_EQ(LoadJobRecord::FromJson(stored).status().code(), Code::kDataLoss);
  stored = SampleRecord().ToJson();
  stored["endMs"] = 18446744073709551615u;  // above int64_t
  EXPECT_EQ(LoadJobRecord::FromJson(stored).status().code(), Code::kDataLoss);
  stored = SampleRecord().ToJson();
  stored["endMs"] = -1;  // a time before 1970 is still a whole number
  EXPECT_TRUE(LoadJobRecord::FromJson(stored).ok());
}

TEST(LoadJobRecordTest, RefusesMissingFieldsAndWrongTypes) {
  nlohmann::json stored = SampleRecord().ToJson();
  stored.erase("cursor");
  EXPECT_EQ(LoadJobRecord::FromJson(stored).status().code(), Code::kDataLoss);
  stored = SampleRecord().ToJson();
  stored["failedFiles"] = "x";
  EXPECT_EQ(LoadJobRecord::FromJson(stored).status().code(), Code::kDataLoss);
  EXPECT_EQ(LoadJobRecord::FromJson(nlohmann::json::array()).status().code(), Code::kDataLoss);
}

}  // namespace
}  // namespace alluvium::coordinator
