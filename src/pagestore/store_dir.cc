#include "pagestore/store_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <optional>
#include <system_error>

#include <xxhash.h>

#include "common/decimal.h"
#include "common/logging.h"
#include "common/status_mapping.h"
#include "pagestore/page_file.h"

namespace alluvium::pagestore {
namespace fs = std::filesystem;
namespace {

constexpr int kMetaFormat = 1;
constexpr int kBuckets = 256;

Status FromErrorCode(const std::error_code& ec, std::string_view context) {
  return FromErrno(ec.value(), context);
}

struct Meta {
  int format = 0;
  uint64_t page_size = 0;
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
      fmt::format("alluvium page store\nformat {}\npage_size {}\ndir_id {:016x}\n", meta.format,
                  meta.page_size, meta.id);
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

// Parses "<32 hex>_<decimal>"; nullopt unless it is exactly the name PagePath would produce.
std::optional<PageKey> ParsePageName(std::string_view name) {
  if (name.size() < 34 || name[32] != '_') return std::nullopt;
  auto file = FileId::FromHex(name.substr(0, 32));
  if (!file.ok()) return std::nullopt;
  const auto index = ParseDecimal<decltype(PageKey::index)>(name.substr(33));
  if (!index) return std::nullopt;
  PageKey key{.file = *file, .index = *index};
  if (fmt::format("{}", key) != name) return std::nullopt;  // uppercase hex, leading zeros
  return key;
}

}  // namespace

StoreDir::StoreDir(PassKey, fs::path root, uint64_t page_size, uint64_t id, ScopedFd lock)
    : root_(std::move(root)),
      pages_((root_ / "pages").string()),
      tmp_((root_ / "tmp").string()),
      page_size_(page_size),
      id_(id),
      lock_(std::move(lock)) {}

Result<std::unique_ptr<StoreDir>> StoreDir::Open(const fs::path& root, uint64_t page_size) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return FromErrorCode(ec, fmt::format("create page store dir {}", root.string()));
  ALLUVIUM_ASSIGN_OR_RETURN(ScopedFd lock, LockDir(root));

  ALLUVIUM_ASSIGN_OR_RETURN(uint64_t temps, EmptyDir(root / "tmp"));
  if (temps > 0) {
    ALLUVIUM_LOG(INFO, "page store {}: deleted {} temp files left by an earlier run", root.string(),
                 temps);
  }

  const fs::path pages = root / "pages";
  std::optional<Meta> meta = ReadMeta(root / "store.meta");
  const bool same_layout = meta && meta->format == kMetaFormat && meta->page_size == page_size;
  if (!same_layout) {
    // Wipe before recording the new size: a crash in between leaves the old size recorded and
    // an empty (or partly wiped) pages/, which the next Open wipes again.
    if (fs::exists(pages, ec)) {
      ALLUVIUM_LOG(INFO, "page store {}: page size changed ({} -> {}), deleting cached pages",
                   root.string(),
                   meta ? fmt::format("{}", meta->page_size) : std::string("unknown"), page_size);
      fs::remove_all(pages, ec);
      if (ec) return FromErrorCode(ec, fmt::format("wipe {}", pages.string()));
    }
    const uint64_t id = meta ? meta->id : RandomId(root);
    meta = Meta{.format = kMetaFormat, .page_size = page_size, .id = id};
    ALLUVIUM_RETURN_IF_ERROR(WriteMeta(root, *meta));
  }
  for (int b = 0; b < kBuckets; ++b) {
    const fs::path bucket = pages / fmt::format("{:02x}", b);
    fs::create_directories(bucket, ec);
    if (ec) return FromErrorCode(ec, bucket.string());
  }
  return std::make_unique<StoreDir>(PassKey(), root, page_size, meta->id, std::move(lock));
}

std::string StoreDir::PagePath(const PageKey& key) const {
  return fmt::format("{}/{:02x}/{}", pages_, key.file.hi >> 56, key);
}

std::string StoreDir::TempPath(const PageKey& key, uint64_t seq) const {
  return fmt::format("{}/{}.{}.tmp", tmp_, key, seq);
}

ScanResult StoreDir::Scan(const std::function<bool(const PageKey&)>& belongs_here) const {
  ScanResult result;
  for (int b = 0; b < kBuckets; ++b) {
    const std::string bucket = fmt::format("{}/{:02x}", pages_, b);
    std::error_code ec;
    for (fs::directory_iterator it(bucket, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      const std::optional<PageKey> key = ParsePageName(name);
      bool keep = false;
      if (key && static_cast<int>(key->file.hi >> 56) == b) {
        if (!belongs_here(*key)) {
          ++result.misplaced;
          ::unlink(it->path().c_str());
          continue;
        }
        auto info = InspectPageFile(it->path(), *key, page_size_);
        if (info.ok()) {
          result.pages.push_back({.key = *key, .length = info->length, .mtime_ns = info->mtime_ns});
          keep = true;
        }
      }
      if (!keep) {
        ++result.dropped;
        std::error_code remove_ec;
        fs::remove_all(it->path(), remove_ec);  // best effort: a stray dir or unreadable file
      }
    }
    if (ec) {
      ALLUVIUM_LOG(WARN, "page store: cannot list {}: {}; its pages are ignored", bucket,
                   ec.message());
    }
  }
  return result;
}

}  // namespace alluvium::pagestore
