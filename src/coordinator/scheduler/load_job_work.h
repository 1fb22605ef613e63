// LoadJob's internal types, shared by its parts: load_job.cc (the driver), load_job_send.cc
// (placing and sending) and load_job_outcomes.cc (what the workers' answers do). Not for other
// code. Guarded by the job's mutex, except where LoadJob's members say otherwise.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "coordinator/scheduler/load_job.h"

namespace alluvium::coordinator {

// A listed file and how its segment copies are doing. Lives in window_ until committed.
struct LoadJob::FileState {
  ufs::FileStatus status;
  int pending = 0;
  bool failed = false;
  std::string failure;
  bool all_skipped = true;
  uint64_t bytes = 0;  // segment copy bytes (length x replicas)
  uint64_t bytes_loaded = 0, bytes_skipped = 0;
  uint64_t subtasks = 0, subtasks_failed = 0, retries = 0;
};

// One copy of one segment, on its way to a worker.
struct LoadJob::Work {
  FileState* file = nullptr;
  SegmentRef segment;
  uint64_t segment_index = 0;
  size_t replica = 0;
  int attempts = 0;
  std::set<std::string> failed_workers;
  std::string placed_on;  // the worker address its bytes are counted against
  std::optional<std::chrono::steady_clock::time_point> no_space_since;
};

struct LoadJob::Batch {
  std::string address;
  std::vector<std::unique_ptr<Work>> items;
  uint64_t bytes = 0;
};

}  // namespace alluvium::coordinator
