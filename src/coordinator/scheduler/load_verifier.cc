#include "coordinator/scheduler/load_verifier.h"

#include <thread>

#include "common/logging.h"
#include "common/sleep.h"
#include "common/units.h"

namespace alluvium::coordinator {

LoadVerifier::LoadVerifier(Placement& placement, WorkerLoadClient& workers,
                           LoadVerifierParams params)
    : placement_(placement), workers_(workers), params_(std::move(params)) {}

Result<VerifyOutcome> LoadVerifier::Run(const SourceOpener& open_source, std::stop_token stop) {
  for (int pass = 1;; ++pass) {
    const auto placement = placement_.Current();
    outcome_ = {.bytes_reloaded = outcome_.bytes_reloaded};
    groups_.clear();
    unreachable_since_.clear();
    ALLUVIUM_ASSIGN_OR_RETURN(auto source, open_source());
    ALLUVIUM_RETURN_IF_ERROR(Pass(*source, stop));
    // Owners checked before a membership change may no longer be the owners: check again.
    if (placement_.Current() == placement || pass >= params_.max_passes || stop.stop_requested()) {
      return std::move(outcome_);
    }
    ALLUVIUM_LOG(INFO, "load job {}: the workers changed during verification; verifying again",
                 params_.job_id);
  }
}

Status LoadVerifier::Pass(EntrySource& source, std::stop_token stop) {
  const LoadOptions& o = params_.options;
  while (!stop.stop_requested()) {
    ALLUVIUM_ASSIGN_OR_RETURN(std::optional<ufs::FileStatus> entry, source.Next());
    if (!entry) break;
    if (o.metadata_only || entry->is_directory || entry->length == 0) continue;
    const std::vector<SegmentRef> segments =
        SegmentsOf(*entry, placement_.Current()->segment_size, /*metadata_only=*/false);
    for (uint64_t s = 0; s < segments.size(); ++s) {
      for (size_t r = 0; r < o.replicas; ++r) {
        ++outcome_.segments_checked;
        Route({.ref = segments[s], .segment = s, .replica = r});
      }
    }
    for (auto it = groups_.begin(); it != groups_.end();) {
      const std::string address = it->first;
      ++it;
      if (groups_[address].size() >= o.batch_size) Process(address, stop);
    }
  }
  while (!groups_.empty() && !stop.stop_requested()) Process(groups_.begin()->first, stop);
  return OkStatus();
}

void LoadVerifier::Route(const Check& check) {
  const auto placement = placement_.Current();
  const std::vector<std::string> owners =
      placement->WorkersFor(check.ref.status, check.segment, params_.options.replicas);
  if (check.replica >= owners.size()) {
    Missing(check, fmt::format("segment {}: {} live workers for {} replicas", check.segment,
                               owners.size(), params_.options.replicas));
    return;
  }
  groups_[owners[check.replica]].push_back(check);
}

void LoadVerifier::Missing(const Check& check, std::string why) {
  outcome_.missing.try_emplace(check.ref.status.uri, std::move(why));  // the first reason
}

Result<std::vector<uint64_t>> LoadVerifier::Cached(const std::string& address,
                                                   const std::vector<Check>& checks,
                                                   std::stop_token stop) {
  std::vector<SegmentRef> refs;
  refs.reserve(checks.size());
  for (const Check& c : checks) refs.push_back(c.ref);
  Status last;
  for (int attempt = 0; attempt < params_.max_attempts; ++attempt) {
    if (attempt > 0 && !SleepUnlessStopped(stop, params_.retry_backoff * attempt)) break;
    auto cached = workers_.CachedBytes(address, refs, params_.timeout, stop);
    if (cached.ok()) return cached;
    last = cached.status();
  }
  return last;
}

void LoadVerifier::Process(std::string address, std::stop_token stop) {
  std::vector<Check> checks = std::move(groups_[address]);
  groups_.erase(address);
  const std::string worker = params_.name ? params_.name(address) : address;
  auto cached = Cached(address, checks, stop);
  if (!cached.ok()) {
    const auto now = std::chrono::steady_clock::now();
    const auto since = unreachable_since_.try_emplace(address, now).first->second;
    if (now - since < params_.unreachable_wait && !stop.stop_requested()) {
      // Until it answers, or is declared lost and the ring names other owners.
      SleepUnlessStopped(stop, std::chrono::seconds(1));
      for (const Check& c : checks) Route(c);
      return;
    }
    for (const Check& c : checks) {
      Missing(c, fmt::format("{}: cannot be asked what it holds: {}", worker, cached.status()));
    }
    return;
  }
  std::vector<Check> absent;
  for (size_t i = 0; i < checks.size(); ++i) {
    if ((*cached)[i] < checks[i].ref.length) absent.push_back(std::move(checks[i]));
  }
  if (absent.empty()) return;
  ALLUVIUM_LOG(INFO, "load job {}: verify found {} segments missing on {}; reloading",
               params_.job_id, absent.size(), worker);

  LoadCall call{.job_id = params_.job_id, .pin = !params_.options.allow_eviction};
  for (const Check& c : absent) call.items.push_back(c.ref);
  auto loaded = workers_.Load(address, call, params_.timeout, stop);
  if (!loaded.ok()) {
    for (const Check& c : absent) {
      Missing(c, fmt::format("{}: segment {} not cached, and reloading it failed: {}", worker,
                             c.segment, loaded.status()));
    }
    return;
  }
  std::vector<Check> reloaded;
  for (size_t i = 0; i < absent.size(); ++i) {
    const ItemOutcome& outcome = (*loaded)[i];
    outcome_.bytes_reloaded += outcome.bytes_loaded;
    if (outcome.status.ok()) {
      reloaded.push_back(std::move(absent[i]));
    } else if (outcome.status.code() == Code::kFailedPrecondition && params_.capacity_failure) {
      Missing(absent[i], params_.capacity_failure(address, outcome.status).ToString());
    } else {
      Missing(absent[i], fmt::format("{}: segment {} not cached, and reloading it failed: {}",
                                     worker, absent[i].segment, outcome.status));
    }
  }
  if (reloaded.empty()) return;
  // Cached now, and it stays so while the job's pins hold; a worker that lost it again at once
  // (deleted behind its back, restarted) is reported rather than chased.
  auto again = Cached(address, reloaded, stop);
  for (size_t i = 0; i < reloaded.size(); ++i) {
    const uint64_t have = again.ok() ? (*again)[i] : 0;
    if (have >= reloaded[i].ref.length) continue;
    Missing(reloaded[i],
            fmt::format("{}: holds {} of the {} of segment {} after reloading it{}", worker,
                        FormatSize(have), FormatSize(reloaded[i].ref.length), reloaded[i].segment,
                        again.ok() ? "" : ": " + again.status().ToString()));
  }
}

}  // namespace alluvium::coordinator
