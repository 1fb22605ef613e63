// The pin group of each load job that pins its pages on this worker (PageStore pins): while a job
// runs, what it has cached is not evicted, by its own later pages or by anyone's, so a load that
// does not fit fails instead of evicting itself. A job's pins last until the coordinator ends the
// job (Release) or, should it never say so (it was lost for good), until the job has sent nothing
// for `idle_timeout`. Pins live in memory: a restarted worker holds none. Safe for concurrent use.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "common/mutex.h"
#include "pagestore/page_store.h"

namespace alluvium::worker {

class LoadPins {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // Room held for one segment of a pinning job while it loads (see Reserve). Move-only; gives
  // back what its pages did not use when it goes.
  class Reservation {
   public:
    Reservation(LoadPins& pins, pagestore::PinGroup group, uint64_t bytes)
        : pins_(&pins), group_(group), bytes_(bytes) {}
    Reservation(Reservation&& other) noexcept
        : pins_(std::exchange(other.pins_, nullptr)), group_(other.group_), bytes_(other.bytes_) {}
    Reservation& operator=(Reservation&&) = delete;
    ~Reservation();
    // `bytes` of the segment's pages are now pinned, so counted there instead.
    void Used(uint64_t bytes);

   private:
    LoadPins* pins_;
    pagestore::PinGroup group_;
    uint64_t bytes_;  // still held
  };

  LoadPins(pagestore::PageStore& store, std::chrono::milliseconds idle_timeout,
           Clock clock = nullptr);

  // The job's group, made on first use and kept alive by every call; releases the pins of jobs
  // idle for longer than the timeout on the way.
  pagestore::PinGroup For(const std::string& job_id);
  // Unpins the job's pages and forgets it; returns the bytes it held (0 for an unknown job).
  uint64_t Release(const std::string& job_id);
  // Whether the group still belongs to a job. A load that pinned pages while its job was being
  // released asks this after its last Put, and unpins them itself when not.
  bool Live(pagestore::PinGroup group) const;

  // Whole segments or none: room for `bytes` more of the group's pages beside those it has
  // pinned and the room its other segments hold, within `capacity`; nullopt when they would not
  // fit, so a segment that cannot stay is refused before any of it is read and the ones that
  // can stay whole. `why` then says with what numbers.
  std::optional<Reservation> Reserve(pagestore::PinGroup group, uint64_t bytes, uint64_t capacity,
                                     std::string& why);

 private:
  struct Job {
    pagestore::PinGroup group;
    std::chrono::steady_clock::time_point last_used;
  };

  pagestore::PageStore& store_;
  const std::chrono::milliseconds idle_timeout_;
  const Clock clock_;

  mutable Mutex mu_;
  void Unreserve(pagestore::PinGroup group, uint64_t bytes);

  std::map<std::string, Job> jobs_ GUARDED_BY(mu_);
  std::map<pagestore::PinGroup, uint64_t> reserved_ GUARDED_BY(mu_);
  pagestore::PinGroup next_group_ GUARDED_BY(mu_) = 1;
};

}  // namespace alluvium::worker
