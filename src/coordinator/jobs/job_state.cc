#include "coordinator/jobs/job_state.h"

#include <cctype>
#include <string>

#include <fmt/format.h>

namespace alluvium::coordinator {
namespace {

constexpr JobState kAllStates[] = {JobState::kRunning, JobState::kVerifying, JobState::kStopped,
                                   JobState::kSucceeded, JobState::kFailed};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view JobStateName(JobState state) {
  switch (state) {
    case JobState::kRunning:
      return "RUNNING";
    case JobState::kVerifying:
      return "VERIFYING";
    case JobState::kStopped:
      return "STOPPED";
    case JobState::kSucceeded:
      return "SUCCEEDED";
    case JobState::kFailed:
      return "FAILED";
  }
  return "UNKNOWN";
}

Result<JobState> ParseJobState(std::string_view name) {
  for (JobState s : kAllStates) {
    if (EqualsIgnoreCase(name, JobStateName(s))) return s;
  }
  return InvalidArgument(fmt::format(
      "unknown job state '{}' (expected RUNNING, VERIFYING, STOPPED, SUCCEEDED or FAILED)", name));
}

}  // namespace alluvium::coordinator
