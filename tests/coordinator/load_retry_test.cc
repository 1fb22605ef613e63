#include "coordinator/scheduler/load_retry.h"

#include <gtest/gtest.h>

namespace alluvium::coordinator {
namespace {

using namespace std::chrono_literals;

constexpr int kMax = 4;

TEST(LoadRetryTest, ASuccessIsDoneWhateverElse) {
  EXPECT_EQ(NextAction(OkStatus(), false, /*stopping=*/true, 3, kMax), ItemAction::kDone);
}

TEST(LoadRetryTest, AStoppingJobLeavesFailuresUnfinished) {
  EXPECT_EQ(NextAction(Cancelled("stop"), true, /*stopping=*/true, 0, kMax), ItemAction::kLeave);
}

TEST(LoadRetryTest, AUfsErrorIsRetriedOnTheSameWorkerAndACallFailureOnAnother) {
  EXPECT_EQ(NextAction(Unavailable("S3 503"), /*call_failed=*/false, false, 0, kMax),
            ItemAction::kRetrySameWorker);
  EXPECT_EQ(NextAction(Unavailable("worker down"), /*call_failed=*/true, false, 0, kMax),
            ItemAction::kRetryOtherWorker);
}

TEST(LoadRetryTest, TheLastAttemptAndErrorsNotWorthARetryAreFinal) {
  EXPECT_EQ(NextAction(Unavailable("x"), false, false, kMax - 1, kMax), ItemAction::kFail);
  EXPECT_EQ(NextAction(NotFound("gone"), false, false, 0, kMax), ItemAction::kFail);
  EXPECT_EQ(NextAction(PermissionDenied("no"), true, false, 0, kMax), ItemAction::kFail);
}

TEST(LoadRetryTest, AWorkerWithoutRoomIsWaitedForAndAFullCacheIsFinal) {
  EXPECT_EQ(NextAction(ResourceExhausted("disk full"), false, false, 0, kMax),
            ItemAction::kWaitForSpace);
  EXPECT_EQ(NextAction(FailedPrecondition("cache full"), false, false, 0, kMax),
            ItemAction::kOverCapacity);
  // The same codes for a whole call are about the call, not the worker's cache.
  EXPECT_EQ(NextAction(ResourceExhausted("too many calls"), true, false, 0, kMax),
            ItemAction::kRetryOtherWorker);
}

TEST(LoadRetryTest, BackoffDoublesPerRetryWithAtMostAsMuchJitter) {
  std::mt19937 random(7);
  for (int retry = 1; retry <= 3; ++retry) {
    const auto base = 100ms * (1 << (retry - 1));
    for (int i = 0; i < 20; ++i) {
      const auto wait = RetryBackoff(100ms, retry, random);
      EXPECT_GE(wait, base);
      EXPECT_LE(wait, 2 * base);
    }
  }
}

}  // namespace
}  // namespace alluvium::coordinator
