#include "worker/load_pins.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "common/logging.h"

namespace alluvium::worker {

LoadPins::LoadPins(pagestore::PageStore& store, std::chrono::milliseconds idle_timeout, Clock clock)
    : store_(store),
      idle_timeout_(idle_timeout),
      clock_(clock ? std::move(clock) : [] { return std::chrono::steady_clock::now(); }) {}

pagestore::PinGroup LoadPins::For(const std::string& job_id) {
  const auto now = clock_();
  std::vector<std::pair<std::string, pagestore::PinGroup>> expired;
  pagestore::PinGroup group;
  {
    MutexLock lock(mu_);
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      if (it->first != job_id && now - it->second.last_used > idle_timeout_) {
        expired.emplace_back(it->first, it->second.group);
        it = jobs_.erase(it);
      } else {
        ++it;
      }
    }
    auto [it, fresh] = jobs_.try_emplace(job_id, Job{.group = next_group_, .last_used = now});
    if (fresh) ++next_group_;
    it->second.last_used = now;
    group = it->second.group;
  }
  // Unpin takes the store's lock: not under ours.
  for (const auto& [job, expired_group] : expired) {
    ALLUVIUM_LOG(WARN, "load job {} sent nothing for {}s: releasing its {} pinned bytes", job,
                 std::chrono::duration_cast<std::chrono::seconds>(idle_timeout_).count(),
                 store_.PinnedBytes(expired_group));
    store_.Unpin(expired_group);
  }
  return group;
}

uint64_t LoadPins::Release(const std::string& job_id) {
  pagestore::PinGroup group;
  {
    MutexLock lock(mu_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return 0;
    group = it->second.group;
    jobs_.erase(it);
  }
  const uint64_t bytes = store_.PinnedBytes(group);
  store_.Unpin(group);
  return bytes;
}

bool LoadPins::Live(pagestore::PinGroup group) const {
  MutexLock lock(mu_);
  for (const auto& [job, state] : jobs_) {
    if (state.group == group) return true;
  }
  return false;
}

std::optional<LoadPins::Reservation> LoadPins::Reserve(pagestore::PinGroup group, uint64_t bytes,
                                                       uint64_t capacity, std::string& why) {
  // Read under our lock: a page moves from reserved to pinned by its Put and then Used, so read
  // apart from `reserved` it could be missed by both (admitting what does not fit); read
  // together, a page between the two is at worst counted twice for a moment.
  MutexLock lock(mu_);
  const uint64_t pinned = store_.PinnedBytes(group);
  uint64_t& reserved = reserved_[group];
  if (pinned + reserved + bytes > capacity) {
    why = fmt::format(
        "{} bytes do not fit in the page store's {} beside the {} this load holds there", bytes,
        capacity, pinned + reserved);
    if (reserved == 0) reserved_.erase(group);
    return std::nullopt;
  }
  reserved += bytes;
  return std::optional<Reservation>(std::in_place, *this, group, bytes);
}

void LoadPins::Unreserve(pagestore::PinGroup group, uint64_t bytes) {
  MutexLock lock(mu_);
  auto it = reserved_.find(group);
  if (it == reserved_.end()) return;
  it->second -= std::min(it->second, bytes);
  if (it->second == 0) reserved_.erase(it);
}

LoadPins::Reservation::~Reservation() {
  if (pins_ != nullptr && bytes_ > 0) pins_->Unreserve(group_, bytes_);
}

void LoadPins::Reservation::Used(uint64_t bytes) {
  bytes = std::min(bytes, bytes_);
  bytes_ -= bytes;
  pins_->Unreserve(group_, bytes);
}

}  // namespace alluvium::worker
