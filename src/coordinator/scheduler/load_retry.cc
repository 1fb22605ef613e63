#include "coordinator/scheduler/load_retry.h"

#include "common/status_mapping.h"

namespace alluvium::coordinator {

ItemAction NextAction(const Status& status, bool call_failed, bool stopping, int attempts,
                      int max_attempts) {
  if (status.ok()) return ItemAction::kDone;
  // A stop or shutdown cancelled it: neither a failure nor worth a retry.
  if (stopping) return ItemAction::kLeave;
  // The worker answered for the item itself: its cache cannot hold the job's share (final), or
  // its disk has no room now (wait for room there: the segment belongs on that worker).
  if (!call_failed && status.code() == Code::kFailedPrecondition) return ItemAction::kOverCapacity;
  if (!call_failed && status.code() == Code::kResourceExhausted) return ItemAction::kWaitForSpace;
  if (!WorthAnotherWorker(status) || attempts + 1 >= max_attempts) return ItemAction::kFail;
  // Move on from the worker only when it is the problem: the call failed. A UFS error it
  // reported is retried on the same worker, the segment's owner, so reads find the pages where
  // the ring says they are.
  return call_failed ? ItemAction::kRetryOtherWorker : ItemAction::kRetrySameWorker;
}

std::chrono::milliseconds RetryBackoff(std::chrono::milliseconds base, int retry,
                                       std::mt19937& random) {
  const auto backoff = base * (1 << (retry - 1));
  return backoff + std::chrono::milliseconds(random() % (backoff.count() + 1));
}

}  // namespace alluvium::coordinator
