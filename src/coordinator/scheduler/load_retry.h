// What a load job does with a worker's answer for one segment copy: the retry policy, apart
// from the bookkeeping, so that it reads (and is tested) in one place. Pure.
#pragma once

#include <chrono>
#include <random>

#include "common/status.h"

namespace alluvium::coordinator {

enum class ItemAction {
  kDone,              // loaded (or skipped): the copy is finished
  kLeave,             // the job is stopping: left unfinished, the cursor stays before its file
  kOverCapacity,      // the worker's cache cannot hold the job's share: the file fails
  kWaitForSpace,      // the worker's disk has no room now: try there again later
  kRetrySameWorker,   // the worker answered with an error of the UFS: again on the owner
  kRetryOtherWorker,  // the call itself failed: again on the next worker of the ring
  kFail,              // final: the file fails with this error
};

// `status` is the item's, or the call's when `call_failed`; `attempts` counts the retries
// already made (0 after the first try), of at most `max_attempts` tries in all.
ItemAction NextAction(const Status& status, bool call_failed, bool stopping, int attempts,
                      int max_attempts);

// The wait before retry number `retry` (1 for the first): `base` doubled per retry, plus a
// random jitter of up to as much again, so that a worker's failed batch does not come back all
// at once.
std::chrono::milliseconds RetryBackoff(std::chrono::milliseconds base, int retry,
                                       std::mt19937& random);

}  // namespace alluvium::coordinator
