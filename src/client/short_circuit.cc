#include "client/short_circuit.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "common/logging.h"
#include "pagestore/page_reader.h"
#include "shortcircuit/protocol.h"
#include "shortcircuit/seqpacket.h"

namespace alluvium::client {
namespace sc = shortcircuit;

Result<std::unique_ptr<ShortCircuitChannel>> ShortCircuitChannel::Connect(
    const std::string& path, std::string_view worker_id) {
  ALLUVIUM_ASSIGN_OR_RETURN(ScopedFd socket, sc::Connect(path));
  sc::Hello hello;
  std::byte buffer[sizeof(hello) + 1];
  ALLUVIUM_ASSIGN_OR_RETURN(size_t n, sc::Receive(socket.get(), buffer));
  if (n != sizeof(hello)) return Unavailable(fmt::format("{}: not a short-circuit service", path));
  std::memcpy(&hello, buffer, sizeof(hello));
  hello.worker_id[sizeof(hello.worker_id) - 1] = '\0';
  if (hello.magic != sc::kMagic || hello.version != sc::kVersion) {
    return Unavailable(
        fmt::format("{}: short-circuit protocol {} not spoken here", path, hello.version));
  }
  if (std::string_view(hello.worker_id) != worker_id) {
    return Unavailable(fmt::format("{} belongs to worker {}, not {}: another host's worker", path,
                                   hello.worker_id, worker_id));
  }
  return std::make_unique<ShortCircuitChannel>(std::move(socket), hello.page_size);
}

Result<int> ShortCircuitChannel::RegionFdLocked(uint32_t region) {
  if (auto it = regions_.find(region); it != regions_.end()) return it->second.get();
  const sc::Request request{.type = sc::kGetFd, .region = region};
  ALLUVIUM_RETURN_IF_ERROR(sc::Send(socket_.get(), sc::BytesOf(request)));
  sc::FdReply reply;
  std::byte buffer[sizeof(reply)];
  ScopedFd fd;
  ALLUVIUM_ASSIGN_OR_RETURN(size_t n, sc::Receive(socket_.get(), buffer, &fd));
  if (n != sizeof(reply)) return Unavailable("short-circuit: bad descriptor reply");
  std::memcpy(&reply, buffer, sizeof(reply));
  if (reply.ok != 1 || !fd.valid()) {
    return Unavailable(fmt::format("short-circuit: no descriptor for region {}", region));
  }
  const int raw = fd.get();
  regions_.emplace(region, std::move(fd));
  return raw;
}

Result<std::vector<ShortCircuitChannel::Extent>> ShortCircuitChannel::Locate(
    std::string_view uri, const pagestore::FileId& file, uint64_t first, uint32_t count) {
  if (uri.size() > sc::kMaxUriBytes) return std::vector<Extent>(count);  // read it via gRPC
  const sc::Request header{.type = sc::kLocate,
                           .count = count,
                           .file_hi = file.hi,
                           .file_lo = file.lo,
                           .first_page = first,
                           .uri_length = static_cast<uint32_t>(uri.size())};
  std::vector<std::byte> request(sizeof(header) + uri.size());
  std::memcpy(request.data(), &header, sizeof(header));
  std::memcpy(request.data() + sizeof(header), uri.data(), uri.size());
  MutexLock lock(mu_);
  return ExchangeLocked(request, count);
}

Result<std::vector<ShortCircuitChannel::Extent>> ShortCircuitChannel::ExchangeLocked(
    std::span<const std::byte> request, uint32_t count) {
  std::vector<std::byte> buffer(sizeof(sc::LocateReplyHeader) + count * sizeof(sc::PageLocation));
  ALLUVIUM_RETURN_IF_ERROR(sc::Send(socket_.get(), request));
  ALLUVIUM_ASSIGN_OR_RETURN(size_t n, sc::Receive(socket_.get(), buffer));
  sc::LocateReplyHeader reply;
  if (n != buffer.size()) return Unavailable("short-circuit: bad locate reply");
  std::memcpy(&reply, buffer.data(), sizeof(reply));
  if (reply.count != count) return Unavailable("short-circuit: bad locate reply");
  std::vector<Extent> extents(count);
  for (uint32_t i = 0; i < count; ++i) {
    sc::PageLocation location;
    std::memcpy(&location, buffer.data() + sizeof(reply) + i * sizeof(location), sizeof(location));
    if (location.found != 1 || location.length == 0 || location.length > page_size_) continue;
    ALLUVIUM_ASSIGN_OR_RETURN(int fd, RegionFdLocked(location.region));
    extents[i] = {.fd = fd,
                  .offset = location.offset,
                  .length = location.length,
                  .checksum = location.checksum,
                  .region = location.region};
  }
  return extents;
}

Status ShortCircuitChannel::LocateFirstPages(const std::vector<FileToLocate>& files) {
  size_t next = 0;
  while (next < files.size()) {
    // As many files as fit one message.
    size_t end = next, bytes = sizeof(sc::Request);
    while (end < files.size() && end - next < sc::kMaxFilesPerLocate &&
           bytes + sizeof(sc::FileRef) + files[end].uri.size() <= sc::kMaxRequestBytes) {
      bytes += sizeof(sc::FileRef) + files[end].uri.size();
      ++end;
    }
    if (end == next) {  // a URI too long for a message: leave it to the read
      ++next;
      continue;
    }
    const auto count = static_cast<uint32_t>(end - next);
    std::vector<std::byte> request(bytes);
    const sc::Request header{.type = sc::kLocateFirstPages, .count = count};
    std::memcpy(request.data(), &header, sizeof(header));
    size_t uri_at = sizeof(header) + count * sizeof(sc::FileRef);
    for (size_t i = next; i < end; ++i) {
      const sc::FileRef ref{.file_hi = files[i].file.hi,
                            .file_lo = files[i].file.lo,
                            .uri_length = static_cast<uint32_t>(files[i].uri.size())};
      std::memcpy(request.data() + sizeof(header) + (i - next) * sizeof(ref), &ref, sizeof(ref));
      std::memcpy(request.data() + uri_at, files[i].uri.data(), files[i].uri.size());
      uri_at += files[i].uri.size();
    }
    MutexLock lock(mu_);
    ALLUVIUM_ASSIGN_OR_RETURN(std::vector<Extent> extents, ExchangeLocked(request, count));
    if (known_.size() + count > kMaxKnownExtents) known_.clear();
    for (uint32_t i = 0; i < count; ++i) {
      if (extents[i].fd >= 0) known_[{files[next + i].file, 0}] = extents[i];
    }
    next = end;
  }
  return OkStatus();
}

std::vector<ShortCircuitChannel::Extent> ShortCircuitChannel::Cached(const pagestore::FileId& file,
                                                                     uint64_t first,
                                                                     uint32_t count) {
  std::vector<Extent> extents(count);
  MutexLock lock(mu_);
  for (uint32_t i = 0; i < count; ++i) {
    auto it = known_.find({file, first + i});
    if (it == known_.end()) return {};
    extents[i] = it->second;
  }
  return extents;
}

void ShortCircuitChannel::Remember(const pagestore::FileId& file, uint64_t first,
                                   const std::vector<Extent>& extents) {
  MutexLock lock(mu_);
  if (known_.size() + extents.size() > kMaxKnownExtents) known_.clear();  // crude but bounded
  for (uint32_t i = 0; i < extents.size(); ++i) {
    if (extents[i].fd >= 0) known_[{file, first + i}] = extents[i];
  }
}

void ShortCircuitChannel::Forget(const pagestore::FileId& file, uint64_t page) {
  MutexLock lock(mu_);
  known_.erase({file, page});
}

bool ShortCircuitChannel::HungUp() {
  // A poll per read costs small-file reads about a tenth of their speed. Checking once per
  // interval means pages located before a worker died may be read from our descriptors of its
  // old files for up to that long: verified against their checksums, so never wrong bytes.
  constexpr int64_t kIntervalNs = 100'000'000;
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  // `broken_` is published before the time of the check that found it: a reader that skips the
  // poll because a check is recent also sees what that check found.
  if (now - hangup_checked_ns_.load(std::memory_order_acquire) < kIntervalNs) {
    return broken_.load(std::memory_order_relaxed);
  }
  if (PeerGone()) broken_.store(true, std::memory_order_relaxed);
  hangup_checked_ns_.store(now, std::memory_order_release);
  return broken_.load(std::memory_order_relaxed);
}

bool ShortCircuitChannel::PeerGone() const {
  // A hang-up is reported at once, without reading: no request of ours is disturbed.
  pollfd p{.fd = socket_.get(), .events = POLLRDHUP, .revents = 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) != 0;
}

Result<uint64_t> ShortCircuitChannel::Read(std::string_view uri, const pagestore::FileId& file,
                                           uint64_t offset, uint64_t end, const Sink& sink,
                                           std::byte* in_place) {
  if (offset >= end) return uint64_t{0};
  if (HungUp()) {
    // The worker exited (or restarted): the extents we remember may be of files it has since
    // wiped, which our descriptors alone keep alive. Not a cache to read from any more.
    broken_.store(true, std::memory_order_relaxed);
    return Unavailable("the worker closed its short-circuit socket");
  }
  // Without a place for the bytes, they are read into this thread's buffer for the sink.
  thread_local std::unique_ptr<std::byte[]> buffer;
  thread_local uint64_t buffer_size = 0;
  if (in_place == nullptr && buffer_size < page_size_) {
    buffer = std::make_unique_for_overwrite<std::byte[]>(page_size_);
    buffer_size = page_size_;
  }
  uint64_t pos = offset;
  uint64_t page = offset / page_size_;
  const uint64_t last_page = (end - 1) / page_size_;
  while (pos < end) {
    const auto count =
        static_cast<uint32_t>(std::min<uint64_t>(sc::kMaxPagesPerLocate, last_page - page + 1));
    // Where the pages were when last asked, else ask the worker.
    std::vector<Extent> extents = Cached(file, page, count);
    const bool from_memory = !extents.empty();
    if (!from_memory) {
      auto located = Locate(uri, file, page, count);
      // Bytes already delivered must be counted, or the caller would read them again elsewhere
      // and deliver them twice: report the part read, and the error on the next call.
      if (!located.ok()) {
        broken_.store(true, std::memory_order_relaxed);
        return pos > offset ? Result<uint64_t>(pos - offset) : located.status();
      }
      extents = std::move(*located);
      Remember(file, page, extents);
    }
    for (Extent extent : extents) {
      if (extent.fd < 0) return pos - offset;  // not cached: read through the worker
      const uint64_t page_start = page * page_size_;
      const uint64_t from = pos - page_start;
      if (from >= extent.length) return pos - offset;  // past the end of the file's last page
      const uint64_t to = std::min(end - page_start, extent.length);
      std::byte* into = in_place != nullptr ? in_place + (pos - offset) : buffer.get();
      // Only the blocks of [from, to) are read and verified (pagestore::ReadPageRange).
      auto read_verified = [&] {
        return extent.length <= page_size_ && pagestore::ReadPageRange(extent, from, to, into).ok();
      };
      bool verified = read_verified();
      if (!verified && from_memory) {
        // The region may have been reused since: ask where the page is now, once.
        Forget(file, page);
        auto fresh = Locate(uri, file, page, 1);
        if (!fresh.ok()) {
          broken_.store(true, std::memory_order_relaxed);
          return pos > offset ? Result<uint64_t>(pos - offset) : fresh.status();
        }
        Remember(file, page, *fresh);
        extent = fresh->front();
        verified = extent.fd >= 0 && from < extent.length &&
                   to <= std::min(end - page_start, extent.length) && read_verified();
      }
      if (!verified) {
        ALLUVIUM_LOG(DEBUG, "short-circuit page {} of {} failed verification (evicted?)", page,
                     file.ToHex());
        Forget(file, page);
        return pos - offset;
      }
      ALLUVIUM_RETURN_IF_ERROR(sink(std::span<const std::byte>(into, to - from)));
      pos += to - from;
      if (extent.length < page_size_) return pos - offset;  // the file's last page
      ++page;
      if (pos >= end) break;
    }
  }
  return pos - offset;
}

}  // namespace alluvium::client
