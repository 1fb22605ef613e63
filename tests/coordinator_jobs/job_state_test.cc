#include "coordinator/jobs/job_state.h"

#include <gtest/gtest.h>

namespace alluvium::coordinator {
namespace {

TEST(JobStateTest, NamesAreAlluxios) {
  EXPECT_EQ(JobStateName(JobState::kRunning), "RUNNING");
  EXPECT_EQ(JobStateName(JobState::kVerifying), "VERIFYING");
  EXPECT_EQ(JobStateName(JobState::kStopped), "STOPPED");
  EXPECT_EQ(JobStateName(JobState::kSucceeded), "SUCCEEDED");
  EXPECT_EQ(JobStateName(JobState::kFailed), "FAILED");
}

TEST(JobStateTest, ParseRoundTripsEveryNameInAnyCase) {
  for (JobState s : {JobState::kRunning, JobState::kVerifying, JobState::kStopped,
                     JobState::kSucceeded, JobState::kFailed}) {
    auto parsed = ParseJobState(JobStateName(s));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, s);
  }
  auto lower = ParseJobState("succeeded");
  ASSERT_TRUE(lower.ok()) << lower.status();
  EXPECT_EQ(*lower, JobState::kSucceeded);
}

TEST(JobStateTest, UnknownNameIsInvalidArgument) {
  for (const char* name : {"", "ALL", "DONE", "RUNNING "}) {
    auto parsed = ParseJobState(name);
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument) << name;
  }
}

TEST(JobStateTest, ActiveAndFinished) {
  EXPECT_TRUE(IsActive(JobState::kRunning));
  EXPECT_TRUE(IsActive(JobState::kVerifying));
  EXPECT_FALSE(IsActive(JobState::kStopped));
  EXPECT_FALSE(IsFinished(JobState::kStopped));
  EXPECT_TRUE(IsFinished(JobState::kSucceeded));
  EXPECT_TRUE(IsFinished(JobState::kFailed));
}

}  // namespace
}  // namespace alluvium::coordinator
