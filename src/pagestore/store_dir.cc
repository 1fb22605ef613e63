#include "pagestore/store_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <optional>
#include <system_error>

#include <xxhash.h>

#include "common/decimal.h"
#include "common/logging.h"
#include "common/status_mapping.h"

namespace alluvium::pagestore {
namespace fs = std::filesystem;
namespace {

// 1: a file per page under pages/; 2: region files; 3: records with a checksum per 4 KiB block.
constexpr int kMetaFormat = 3;

Status FromErrorCode(const std::error_code& ec, std::string_view context) {
  return FromErrno(ec.value(), context);
}

struct Meta {
  int format = 0;
  uint64_t page_size = 0;
  uint64_t region_size = 0;  // absent in format 1
  uint64_t id = 0;
};

// nullopt when missing or unparsable: either way the pages' page size is unknown.
std::optional<Meta> ReadMeta(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string title, key;
  Meta meta;
  bool has_format = false, has_size = false, has_id = false;
  std::getline(in, title);
  if (title != "alluvium page store") return std::nullopt;
  while (in >> key) {
    if (key == "format") {
      has_format = static_cast<bool>(in >> meta.format);
    } else if (key == "page_size") {
      has_size = static_cast<bool>(in >> meta.page_size);
    } else if (key == "region_size") {
      if (!(in >> meta.region_size)) return std::nullopt;
    } else if (key == "dir_id") {
      has_id = static_cast<bool>(in >> std::hex >> meta.id >> std::dec);
    } else {
      return std::nullopt;
    }
  }
  if (!has_format || !has_size || !has_id) return std::nullopt;
  return meta;
}

// Durable (fsync of file and dir) so that no page is ever written under an unrecorded size.
// Runs only when the meta changes, so the cost is once per store.
Status WriteMeta(const fs::path& root, const Meta& meta) {
  const fs::path path = root / "store.meta";
  const fs::path temp = root / "store.meta.tmp";
  const std::string text =
      fmt::format("alluvium page store\nformat {}\npage_size {}\nregion_size {}\ndir_id {:016x}\n",
                  meta.format, meta.page_size, meta.region_size, meta.id);
  ScopedFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return FromErrno(errno, temp.string());
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::fsync(fd.get()) != 0) {
    return FromErrno(errno, temp.string());
  }
  if (const int err = fd.Close(); err != 0) return FromErrno(err, temp.string());
  if (::rename(temp.c_str(), path.c_str()) != 0) return FromErrno(errno, path.string());
  ScopedFd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid() || ::fsync(dir.get()) != 0) return FromErrno(errno, root.string());
  return OkStatus();
}

uint64_t RandomId(const fs::path& root) {
  uint64_t id = 0;
  if (::getrandom(&id, sizeof(id), 0) == sizeof(id)) return id;
  // No entropy source: a hash of path and time is unique enough to tell dirs apart.
  const auto now = std::chrono::system_clock::now().time_since_epoch().count();
  return XXH3_64bits_withSeed(root.c_str(), root.native().size(), static_cast<uint64_t>(now));
}

// One store per dir: a second one (another process, or a second Open in this one) would delete
// the first one's temp files at Open and corrupt its accounting.
Result<ScopedFd> LockDir(const fs::path& root) {
  const fs::path path = root / "store.lock";
  ScopedFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return FromErrno(errno, path.string());
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return FailedPrecondition(
          fmt::format("page store dir {} is in use by another page store", root.string()));
    }
    return FromErrno(errno, path.string());
  }
  return fd;
}

// Creates `dir` if needed and deletes everything in it. Returns the number of entries deleted.
Result<uint64_t> EmptyDir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return FromErrorCode(ec, dir.string());
  uint64_t removed = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code remove_ec;
    removed += fs::remove_all(it->path(), remove_ec) > 0 ? 1 : 0;
    if (remove_ec) return FromErrorCode(remove_ec, it->path().string());
  }
  if (ec) return FromErrorCode(ec, dir.string());
  return removed;
}

}  // namespace

StoreDir::StoreDir(PassKey, fs::path root, uint64_t page_size, uint64_t region_size, uint64_t id,
                   ScopedFd lock)
    : root_(std::move(root)),
      regions_(root_ / "regions"),
      page_size_(page_size),
      region_size_(region_size),
      id_(id),
      lock_(std::move(lock)) {}

Result<std::unique_ptr<StoreDir>> StoreDir::Open(const fs::path& root, uint64_t page_size,
                                                 uint64_t region_size) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return FromErrorCode(ec, fmt::format("create page store dir {}", root.string()));
  ALLUVIUM_ASSIGN_OR_RETURN(ScopedFd lock, LockDir(root));

  std::optional<Meta> meta = ReadMeta(root / "store.meta");
  const bool same_layout = meta && meta->format == kMetaFormat && meta->page_size == page_size &&
                           meta->region_size == region_size;
  if (!same_layout) {
    // Wipe before recording the new layout: a crash in between leaves the old one recorded and
    // an empty (or partly wiped) dir, which the next Open wipes again.
    uint64_t wiped = 0;
    for (const char* old : {"regions", "pages", "tmp"}) {
      if (!fs::exists(root / old, ec)) continue;
      ALLUVIUM_ASSIGN_OR_RETURN(uint64_t n, EmptyDir(root / old));
      wiped += n;
      if (std::string_view(old) != "regions") fs::remove(root / old, ec);
    }
    if (wiped > 0) {
      ALLUVIUM_LOG(INFO,
                   "page store {}: layout changed (format {} -> {}, page size {} -> {}, region "
                   "size {} -> {}), deleted {} cached files",
                   root.string(), meta ? meta->format : 0, kMetaFormat, meta ? meta->page_size : 0,
                   page_size, meta ? meta->region_size : 0, region_size, wiped);
    }
    const uint64_t id = meta ? meta->id : RandomId(root);
    meta =
        Meta{.format = kMetaFormat, .page_size = page_size, .region_size = region_size, .id = id};
    ALLUVIUM_RETURN_IF_ERROR(WriteMeta(root, *meta));
  }
  fs::create_directories(root / "regions", ec);
  if (ec) return FromErrorCode(ec, (root / "regions").string());
  return std::make_unique<StoreDir>(PassKey(), root, page_size, region_size, meta->id,
                                    std::move(lock));
}

fs::path StoreDir::RegionPath(uint32_t number) const { return regions_ / std::to_string(number); }

uint64_t StoreDir::DiskBytes() const {
  struct statvfs st;
  if (::statvfs(root_.c_str(), &st) != 0) return UINT64_MAX;
  return static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
}

uint64_t StoreDir::FreeBytes() const {
  struct statvfs st;
  if (::statvfs(root_.c_str(), &st) != 0) return UINT64_MAX;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

Result<std::vector<OpenedRegion>> StoreDir::OpenRegions(uint32_t count) const {
  // Every file already there, scanned; anything not named like a region file goes.
  std::vector<std::pair<uint32_t, OpenedRegion>> found;
  std::error_code ec;
  for (fs::directory_iterator it(regions_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const auto number = ParseDecimal<uint32_t>(name);
    if (!number || std::to_string(*number) != name || !it->is_regular_file()) {
      std::error_code remove_ec;
      fs::remove_all(it->path(), remove_ec);  // best effort: a stray file or dir
      continue;
    }
    ALLUVIUM_ASSIGN_OR_RETURN(RegionFile file, RegionFile::Open(it->path(), region_size_));
    ScannedRegion scan = file.Scan(page_size_);
    found.emplace_back(*number, OpenedRegion{std::move(file), std::move(scan)});
  }
  if (ec) return FromErrorCode(ec, regions_.string());

  // Keep the `count` regions with the newest records; drop the rest (the capacity shrank).
  auto newest = [](const OpenedRegion& r) {
    return r.scan.records.empty() ? 0 : r.scan.records.back().header.seq;
  };
  std::sort(found.begin(), found.end(),
            [&](const auto& a, const auto& b) { return newest(a.second) > newest(b.second); });
  uint64_t dropped_pages = 0;
  while (found.size() > count) {
    dropped_pages += found.back().second.scan.records.size();
    ::unlink(found.back().second.file.path().c_str());
    found.pop_back();
  }
  if (dropped_pages > 0) {
    ALLUVIUM_LOG(INFO, "page store {}: capacity now holds {} regions; dropped {} older pages",
                 root_.string(), count, dropped_pages);
  }

  // Kept files stay at their numbers when those are in range; the others fill the gaps.
  std::vector<std::optional<OpenedRegion>> slots(count);
  std::vector<OpenedRegion> movers;
  for (auto& [number, region] : found) {
    if (number < count && !slots[number]) {
      slots[number] = std::move(region);
    } else {
      movers.push_back(std::move(region));
    }
  }
  std::vector<OpenedRegion> out;
  out.reserve(count);
  for (uint32_t n = 0; n < count; ++n) {
    if (!slots[n] && !movers.empty()) {
      OpenedRegion region = std::move(movers.back());
      movers.pop_back();
      if (::rename(region.file.path().c_str(), RegionPath(n).c_str()) != 0) {
        return FromErrno(errno, fmt::format("rename {}", region.file.path().string()));
      }
      ALLUVIUM_ASSIGN_OR_RETURN(RegionFile file, RegionFile::Open(RegionPath(n), region_size_));
      slots[n] = OpenedRegion{std::move(file), std::move(region.scan)};
    }
    if (!slots[n]) {
      ALLUVIUM_ASSIGN_OR_RETURN(RegionFile file, RegionFile::Open(RegionPath(n), region_size_));
      slots[n] = OpenedRegion{std::move(file), {}};
    }
    out.push_back(std::move(*slots[n]));
  }
  return out;
}

}  // namespace alluvium::pagestore
