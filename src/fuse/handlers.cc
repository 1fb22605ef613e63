#include "fuse/handlers.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "common/logging.h"
#include "common/paths.h"

namespace alluvium::fuse {
namespace {

// What a plain readdir shows as d_ino: the entry has no inode until it is looked up, and 0
// would make some readers skip it (libfuse's high-level API uses the same value).
constexpr ino_t kUnknownInode = 0xffffffff;
constexpr uint64_t kStatFsBlock = 4096;
// Files read without an open whose read-ahead is kept: a few per DataLoader worker reading
// side by side, each at most two windows (64 MiB).
constexpr size_t kInodeReaders = 32;

timespec TimeOf(int64_t ms) {
  return {.tv_sec = static_cast<time_t>(ms / 1000),
          .tv_nsec = static_cast<long>(ms % 1000) * 1000000};
}

}  // namespace

Handlers::Handlers(client::Client& client, FuseOptions options)
    : client_(client),
      options_(std::move(options)),
      inodes_(options_.path),
      inode_readers_(kInodeReaders, [this](uint64_t inode) { return MakeReader(inode); }) {}

void Handlers::Forget(uint64_t inode, uint64_t nlookup) {
  if (inodes_.Forget(inode, nlookup)) inode_readers_.Drop(inode);
}

Result<std::string> Handlers::PathOf(uint64_t inode) const {
  std::optional<std::string> path = inodes_.PathOf(inode);
  if (!path) return NotFound(fmt::format("inode {} is not known (forgotten)", inode));
  return *std::move(path);
}

Result<client::FileInfo> Handlers::StatPath(const std::string& path) {
  return cache_namespace_.Stat(path);
}

Entry Handlers::MakeEntry(uint64_t inode, const client::FileInfo& info) {
  Entry e;
  e.inode = inode;
  struct stat& st = e.attr;
  st.st_ino = inode;
  st.st_mode = info.is_directory ? S_IFDIR | 0555 : S_IFREG | 0444;
  st.st_nlink = info.is_directory ? 2 : 1;
  st.st_uid = options_.uid;
  st.st_gid = options_.gid;
  st.st_size = static_cast<off_t>(info.length);
  st.st_blksize = static_cast<blksize_t>(options_.max_read);
  st.st_blocks = static_cast<blkcnt_t>((info.length + 511) / 512);
  st.st_mtim = st.st_ctim = st.st_atim = TimeOf(info.mtime_ms);

  const CacheRule rule = client_.MetadataRule(info.uri);
  double seconds = 0;
  switch (rule.type) {
    case CacheRuleType::kImmutable:
      seconds = options_.immutable_timeout;
      break;
    case CacheRuleType::kMaxAge:
      seconds = std::chrono::duration<double>(rule.max_age).count();
      break;
    case CacheRuleType::kSkipCache:
      seconds = 0;
      break;
  }
  e.attr_timeout = options_.attr_timeout.value_or(seconds);
  e.entry_timeout = options_.entry_timeout.value_or(seconds);
  return e;
}

Result<Entry> Handlers::Lookup(uint64_t parent, std::string_view name) {
  ALLUVIUM_ASSIGN_OR_RETURN(std::string path, inodes_.ChildPath(parent, name));
  ALLUVIUM_ASSIGN_OR_RETURN(client::FileInfo info, StatPath(path));
  return MakeEntry(inodes_.Remember(path), info);
}

Result<Entry> Handlers::GetAttr(uint64_t inode) {
  ALLUVIUM_ASSIGN_OR_RETURN(std::string path, PathOf(inode));
  ALLUVIUM_ASSIGN_OR_RETURN(client::FileInfo info, StatPath(path));
  return MakeEntry(inode, info);
}

Result<std::shared_ptr<Handlers::OpenDirectory>> Handlers::UnlistedDirectory(uint64_t inode) {
  ALLUVIUM_ASSIGN_OR_RETURN(std::string path, PathOf(inode));
  ALLUVIUM_ASSIGN_OR_RETURN(client::FileInfo info, StatPath(path));
  if (!info.is_directory) return InvalidArgument(fmt::format("{} is not a directory", path));
  auto dir = std::make_shared<OpenDirectory>();
  dir->path = std::move(path);
  dir->inode = inode;
  return dir;
}

Result<std::shared_ptr<const Handlers::OpenDirectory>> Handlers::ListDirectory(uint64_t inode) {
  ALLUVIUM_ASSIGN_OR_RETURN(std::string path, PathOf(inode));
  auto dir = std::make_shared<OpenDirectory>();
  {
    // Read before listing: a DropCaches during the listing leaves it stale.
    MutexLock lock(mu_);
    dir->generation = generation_;
  }
  ALLUVIUM_ASSIGN_OR_RETURN(dir->children, cache_namespace_.List(path));
  dir->path = std::move(path);
  dir->inode = inode;
  dir->listed = true;
  return std::shared_ptr<const OpenDirectory>(std::move(dir));
}

Result<uint64_t> Handlers::OpenDir(uint64_t inode) {
  // Listed at the first ReadDir, not here: where the kernel keeps listings (cache_readdir), an
  // opendir is followed by no readdir at all.
  ALLUVIUM_ASSIGN_OR_RETURN(std::shared_ptr<OpenDirectory> dir, UnlistedDirectory(inode));
  MutexLock lock(mu_);
  const uint64_t handle = next_dir_++;
  dirs_[handle] = DirHandle{.dir = std::move(dir), .push_queue = std::make_shared<PushQueue>()};
  return handle;
}

void Handlers::PushQueue::Add(const std::vector<PushFile>& files) {
  MutexLock lock(mu_);
  waiting_.insert(waiting_.end(), files.begin(), files.end());
}

std::vector<Handlers::PushFile> Handlers::PushQueue::TakeAll() {
  MutexLock lock(mu_);
  return std::exchange(waiting_, {});
}

std::shared_ptr<Handlers::PushQueue> Handlers::PushQueueOf(uint64_t dir) const {
  MutexLock lock(mu_);
  auto it = dirs_.find(dir);
  return it == dirs_.end() ? nullptr : it->second.push_queue;
}

bool Handlers::ReadToPush(PushQueue& queue, uint64_t inode, std::span<std::byte> out) {
  if (queue.pushed_bytes().fetch_add(out.size(), std::memory_order_relaxed) + out.size() >
      kMaxPushBytesPerListing) {
    return false;
  }
  Result<std::string> path = PathOf(inode);
  if (!path.ok()) return false;
  Result<size_t> n = client_.ReadCachedHere(*path, 0, out);
  return n.ok() && *n == out.size();
}

Status Handlers::ReadDir(uint64_t handle, uint64_t offset, bool plus,
                         const std::function<bool(const DirEntry&)>& add) {
  std::shared_ptr<const OpenDirectory> dir;
  bool stale = false;
  {
    MutexLock lock(mu_);
    auto it = dirs_.find(handle);
    if (it == dirs_.end()) return NotFound(fmt::format("directory handle {} is not open", handle));
    dir = it->second.dir;
    stale = !dir->listed || (offset == 0 && dir->generation != generation_);
  }
  if (stale) {
    ALLUVIUM_ASSIGN_OR_RETURN(dir, ListDirectory(dir->inode));
    MutexLock lock(mu_);
    if (auto it = dirs_.find(handle); it != dirs_.end()) it->second.dir = dir;
  }
  const uint64_t total = dir->children.size() + 2;
  for (uint64_t i = offset; i < total; ++i) {
    DirEntry d{.next_offset = i + 1};
    if (i < 2) {
      d.name = i == 0 ? "." : "..";
      d.entry.attr.st_ino = i == 0 ? dir->inode : kUnknownInode;
      d.entry.attr.st_mode = S_IFDIR;
      if (!add(d)) return OkStatus();
      continue;
    }
    const client::FileInfo& child = dir->children[i - 2];
    d.name = std::string(BaseName(child.path));
    const std::string path = JoinPath(dir->path, d.name);
    if (plus) {
      d.entry = MakeEntry(inodes_.Remember(path), child);
      if (!add(d)) {
        inodes_.Forget(d.entry.inode, 1);
        return OkStatus();
      }
    } else {
      d.entry.attr.st_ino = kUnknownInode;
      d.entry.attr.st_mode = child.is_directory ? S_IFDIR : S_IFREG;
      if (!add(d)) return OkStatus();
    }
  }
  return OkStatus();
}

void Handlers::ReleaseDir(uint64_t handle) {
  MutexLock lock(mu_);
  dirs_.erase(handle);
}

int Handlers::RefuseWrites(int flags) {
  if ((flags & O_ACCMODE) != O_RDONLY) return EROFS;
  if ((flags & (O_TRUNC | O_APPEND | O_CREAT)) != 0) return EROFS;
  return 0;
}

Result<client::FileInfo> Handlers::StatFile(uint64_t inode, std::string& path) {
  ALLUVIUM_ASSIGN_OR_RETURN(path, PathOf(inode));
  ALLUVIUM_ASSIGN_OR_RETURN(client::FileInfo info, StatPath(path));
  if (info.is_directory) return InvalidArgument(fmt::format("{} is a directory", path));
  return info;
}

std::shared_ptr<FileReader> Handlers::NewReader(const std::string& path,
                                                const client::FileInfo& info, bool direct_io) {
  // The kernel reads ahead of files in its page cache, several requests at once, which the
  // session's threads serve side by side; a window of the daemon's on top made each of those
  // reads wait for a whole window's fetch (docs/fuse.md, "Reads"). Only direct I/O needs ours,
  // and only for pages that are not cached on this host.
  auto read_through = [this, path](uint64_t offset, std::span<std::byte> out) {
    return ReadThrough(path, offset, out);
  };
  if (!direct_io) {
    return std::make_shared<FileReader>(info.length, ReadAheadOptions{.max_parts = 0},
                                        std::move(read_through));
  }
  return std::make_shared<FileReader>(info.length, options_.read_ahead, std::move(read_through),
                                      [this, path](uint64_t offset, std::span<std::byte> out) {
                                        return client_.ReadCachedHere(path, offset, out);
                                      });
}

Result<std::shared_ptr<FileReader>> Handlers::MakeReader(uint64_t inode) {
  std::string path;
  ALLUVIUM_ASSIGN_OR_RETURN(client::FileInfo info, StatFile(inode, path));
  return NewReader(path, info, /*direct_io=*/false);  // no_open: never direct I/O
}

Result<OpenedFile> Handlers::Open(uint64_t inode) {
  std::string path;
  ALLUVIUM_ASSIGN_OR_RETURN(client::FileInfo info, StatFile(inode, path));
  const CacheRule rule = client_.DataRule(info.uri);
  OpenedFile file;
  file.direct_io = options_.direct_io || rule.type == CacheRuleType::kSkipCache;
  // Only data that cannot change may outlive the open that read it; otherwise every open starts
  // with an empty page cache and reads go through the client, which applies maxAge.
  file.keep_cache = !file.direct_io && rule.type == CacheRuleType::kImmutable;
  std::shared_ptr<FileReader> reader = NewReader(path, info, file.direct_io);
  MutexLock lock(mu_);
  file.handle = next_file_++;
  files_[file.handle] = std::move(reader);
  return file;
}

Result<size_t> Handlers::Read(uint64_t handle, uint64_t offset, std::span<std::byte> out) {
  ALLUVIUM_ASSIGN_OR_RETURN(std::shared_ptr<FileReader> reader, ReaderOf(handle));
  return reader->Read(offset, out);
}

Result<FileReader::View> Handlers::ReadView(uint64_t handle, uint64_t inode, uint64_t offset,
                                            std::span<std::byte> scratch) {
  ALLUVIUM_ASSIGN_OR_RETURN(std::shared_ptr<FileReader> reader,
                            handle == 0 ? inode_readers_.Get(inode) : ReaderOf(handle));
  return reader->ReadView(offset, scratch);
}

void Handlers::ReadAhead(uint64_t handle) {
  if (Result<std::shared_ptr<FileReader>> reader = ReaderOf(handle); reader.ok()) {
    (*reader)->ReadAhead();
  }
}

Result<std::shared_ptr<FileReader>> Handlers::ReaderOf(uint64_t handle) const {
  MutexLock lock(mu_);
  auto it = files_.find(handle);
  if (it == files_.end()) return NotFound(fmt::format("file handle {} is not open", handle));
  return it->second;
}

void Handlers::Release(uint64_t handle) {
  MutexLock lock(mu_);
  files_.erase(handle);
}

size_t Handlers::open_files() const {
  MutexLock lock(mu_);
  return files_.size();
}

Result<size_t> Handlers::ReadThrough(const std::string& path, uint64_t offset,
                                     std::span<std::byte> out) {
  ALLUVIUM_ASSIGN_OR_RETURN(client::ReadStats stats, client_.ReadInto(path, offset, out));
  return stats.bytes;
}

Result<struct statvfs> Handlers::StatFs() {
  ALLUVIUM_ASSIGN_OR_RETURN(std::vector<client::WorkerInfo> workers, client_.ListWorkers());
  uint64_t capacity = 0, used = 0;
  for (const client::WorkerInfo& w : workers) {
    if (!w.live) continue;
    capacity += w.capacity_bytes;
    used += std::min(w.used_bytes, w.capacity_bytes);
  }
  struct statvfs st {};
  st.f_bsize = kStatFsBlock;
  st.f_frsize = kStatFsBlock;
  st.f_blocks = capacity / kStatFsBlock;
  st.f_bfree = (capacity - used) / kStatFsBlock;
  st.f_bavail = 0;  // read-only: nothing is free for the caller to write
  st.f_namemax = 255;
  st.f_flag = ST_RDONLY;
  return st;
}

void Handlers::DropCaches() {
  client_.DropMetadataCache();
  inode_readers_.Clear();  // they hold the files' lengths
  cache_namespace_.ForgetMounts();
  MutexLock lock(mu_);
  ++generation_;
}

}  // namespace alluvium::fuse
