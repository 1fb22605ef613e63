// The `verify` pass of a load job: after loading, every segment copy of every listed file must
// be fully cached on the worker the ring names for it. What is not is reloaded there (pinned, as
// the load was), checked again, and reported per file with what is missing and why. Runs on the
// job's driver thread; one worker call at a time.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <stop_token>
#include <string>

#include "common/status.h"
#include "coordinator/jobs/load_options.h"
#include "coordinator/scheduler/entry_source.h"
#include "coordinator/scheduler/placement.h"
#include "coordinator/scheduler/worker_load_client.h"

namespace alluvium::coordinator {

struct VerifyOutcome {
  std::map<std::string, std::string> missing;  // file URI -> why it is not fully cached
  uint64_t segments_checked = 0;
  uint64_t bytes_reloaded = 0;
};

struct LoadVerifierParams {
  std::string job_id;
  LoadOptions options;
  int max_attempts = 4;                          // per worker call
  std::chrono::milliseconds retry_backoff{200};  // between failed calls to one worker
  std::chrono::milliseconds timeout{120'000};    // per worker call
  // A worker that does not answer is asked again for this long, which gives the coordinator
  // time to declare it lost; then its segments go to their new owners (the pass is redone when
  // the membership changed under it, at most max_passes times in all).
  std::chrono::milliseconds unreachable_wait{30'000};
  int max_passes = 3;
  // The error for a worker that refused a segment because the job fills its cache.
  std::function<Status(const std::string& address, const Status& refusal)> capacity_failure;
  // How to name a worker in a reason: its id, else the address.
  std::function<std::string(const std::string& address)> name;
};

class LoadVerifier {
 public:
  LoadVerifier(Placement& placement, WorkerLoadClient& workers, LoadVerifierParams params);

  using SourceOpener = std::function<Result<std::unique_ptr<EntrySource>>()>;
  // Lists the dataset (a new source per pass) and checks it; again when the workers changed
  // while it did. An error only when the listing fails.
  Result<VerifyOutcome> Run(const SourceOpener& open_source, std::stop_token stop);

 private:
  struct Check {
    SegmentRef ref;
    uint64_t segment = 0;
    size_t replica = 0;
  };

  Status Pass(EntrySource& source, std::stop_token stop);
  void Route(const Check& check);
  // Checks (and reloads) what groups_ holds for one worker. `address` by value: callers pass a
  // key of groups_, which this erases.
  void Process(std::string address, std::stop_token stop);
  // CachedBytes with retries; the error after the last attempt, or the cancelled call's once
  // `stop` is requested.
  Result<std::vector<uint64_t>> Cached(const std::string& address, const std::vector<Check>& checks,
                                       std::stop_token stop);
  void Missing(const Check& check, std::string why);

  Placement& placement_;
  WorkerLoadClient& workers_;
  const LoadVerifierParams params_;
  std::map<std::string, std::vector<Check>> groups_;  // worker address -> copies to check there
  // Since when a worker has not answered, this pass.
  std::map<std::string, std::chrono::steady_clock::time_point> unreachable_since_;
  VerifyOutcome outcome_;
};

}  // namespace alluvium::coordinator
