// The states of a load job and the names users see. RUNNING -> (VERIFYING) -> SUCCEEDED |
// FAILED | STOPPED; a STOPPED job resubmitted runs again.
#pragma once

#include <string_view>

#include "common/status.h"

namespace alluvium::coordinator {

enum class JobState { kRunning, kVerifying, kStopped, kSucceeded, kFailed };

std::string_view JobStateName(JobState state);  // "RUNNING", "VERIFYING", ...
// Case-insensitive; kInvalidArgument otherwise.
Result<JobState> ParseJobState(std::string_view name);
inline bool IsActive(JobState s) { return s == JobState::kRunning || s == JobState::kVerifying; }
inline bool IsFinished(JobState s) { return s == JobState::kSucceeded || s == JobState::kFailed; }

}  // namespace alluvium::coordinator
