// LocalFileSystem: see local_ufs.h. Every errno is captured right after the failing call, before
// anything (fmt, allocation) can overwrite it.
#include "ufs/local_ufs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/paths.h"
#include "common/scoped_fd.h"
#include "common/status_mapping.h"

namespace alluvium::ufs {
namespace {

constexpr std::string_view kFilePrefix = "file://";

// The local path a URI names; kInvalidArgument for other schemes.
Result<std::string> LocalPath(std::string_view text) {
  ALLUVIUM_ASSIGN_OR_RETURN(Uri uri, Uri::Parse(text));
  if (uri.scheme != "file") {
    return InvalidArgument(
        fmt::format("the local file system serves file:// URIs, not '{}'", uri.ToString()));
  }
  return std::move(uri.path);
}

std::string FileUri(std::string_view path) { return fmt::format("{}{}", kFilePrefix, path); }

bool IsCacheable(const struct stat& st) { return S_ISREG(st.st_mode) || S_ISDIR(st.st_mode); }

// An entry that disappeared (or became a dangling or looping symlink) between readdir and stat:
// the walk goes on without it, as if readdir had not seen it.
bool Vanished(int err) { return err == ENOENT || err == ENOTDIR || err == ELOOP; }

FileStatus StatusOf(std::string uri, const struct stat& st) {
  FileStatus status;
  status.uri = std::move(uri);
  status.is_directory = S_ISDIR(st.st_mode);
  // tv_nsec is in [0, 1e9), so this floors correctly even before 1970.
  status.mtime_ms = int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1'000'000;
  if (!status.is_directory) {
    status.length = static_cast<uint64_t>(st.st_size);
    // The inode tells a file replaced by rename from one rewritten in place; mtime and size catch
    // in-place rewrites. Two same-size rewrites within one mtime tick are indistinguishable here.
    const int64_t mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
    status.version = fmt::format("{}-{}-{}", mtime_ns, st.st_size, st.st_ino);
  }
  return status;
}

struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};
using ScopedDir = std::unique_ptr<DIR, DirCloser>;

class LocalFileReader final : public FileReader {
 public:
  // `pinned`: the file's status at open when the caller asked for a version; each read then
  // checks the file was not rewritten in place meanwhile (a rename over the path is harmless:
  // the descriptor keeps the old inode).
  LocalFileReader(ScopedFd fd, std::string path, std::optional<struct stat> pinned)
      : fd_(std::move(fd)), path_(std::move(path)), pinned_(pinned) {}

  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) override {
    ALLUVIUM_ASSIGN_OR_RETURN(size_t done, ReadFully(offset, out));
    if (pinned_) ALLUVIUM_RETURN_IF_ERROR(CheckUnchanged());
    return done;
  }

 private:
  // Bytes read while the file was rewritten may mix two versions: never let them be cached.
  Status CheckUnchanged() const {
    struct stat now;
    if (::fstat(fd_.get(), &now) != 0) {
      const int err = errno;
      return FromErrno(err, fmt::format("stat '{}'", path_));
    }
    if (now.st_size != pinned_->st_size || now.st_mtim.tv_sec != pinned_->st_mtim.tv_sec ||
        now.st_mtim.tv_nsec != pinned_->st_mtim.tv_nsec) {
      return Aborted(fmt::format("'{}' changed while being read (rewritten in place)", path_));
    }
    return OkStatus();
  }

  Result<size_t> ReadFully(uint64_t offset, std::span<std::byte> out) {
    constexpr uint64_t kMaxOffset = std::numeric_limits<off_t>::max();
    size_t done = 0;
    while (done < out.size()) {
      // No file extends past off_t's range, so reading beyond it finds the end; the kernel
      // rejects (EINVAL) a range whose end overflows off_t, so stop the request short of that.
      if (offset > kMaxOffset || done >= kMaxOffset - offset) break;
      const uint64_t position = offset + done;
      const size_t count =
          static_cast<size_t>(std::min<uint64_t>(out.size() - done, kMaxOffset - position));
      const ssize_t n = ::pread(fd_.get(), out.data() + done, count, static_cast<off_t>(position));
      if (n < 0) {
        const int err = errno;
        if (err == EINTR) continue;
        return FromErrno(err, fmt::format("read '{}' at offset {}", path_, position));
      }
      if (n == 0) break;  // end of file
      done += static_cast<size_t>(n);
    }
    return done;
  }

  const ScopedFd fd_;
  const std::string path_;  // for error messages
  const std::optional<struct stat> pinned_;
};

// Yields entries in ascending byte order of their listing key: the URI, plus '/' for a directory.
// That is S3's order for "dir/" markers, and it makes a depth-first walk with each directory's
// entries sorted by key produce the global order: everything under "a/" shares that prefix, and
// siblings "a-b" and "a.txt" ('-' and '.' sort before '/') come before directory "a".
class LocalListIterator final : public ListIterator {
 public:
  LocalListIterator(bool recursive, std::string start_after)
      : recursive_(recursive), start_after_(std::move(start_after)) {}

  // Reads the listed directory itself, so that its errors are List's errors.
  Status Init(const std::string& path, std::string uri_prefix) {
    ALLUVIUM_ASSIGN_OR_RETURN(bool entered, Enter(path, std::move(uri_prefix)));
    if (!entered) return NotFound(fmt::format("list '{}': directory vanished", path));
    return OkStatus();
  }

  Result<std::optional<FileStatus>> Next() override {
    if (!error_.ok()) return error_;
    Result<std::optional<FileStatus>> next = Advance();
    if (!next.ok()) error_ = next.status();
    return next;
  }

 private:
  struct Frame {
    std::string path;        // local path of the directory
    std::string uri_prefix;  // its URI with a trailing '/': a child's URI is this + name
    dev_t dev = 0;           // identity, so that a symlink loop is not entered again
    ino_t ino = 0;
    std::vector<std::string> keys;  // sorted child names, '/'-suffixed for directories
    size_t next = 0;                // keys before this were consumed
  };

  enum class Position {
    kBefore,      // the entry and everything under it sort at or before start_after: skip all
    kHoldsStart,  // a directory at or before start_after whose subtree reaches past it: enter only
    kAfter,       // return it (and everything under it)
  };

  // `key` is a URI, '/'-suffixed for a directory. If key < start_after and key is not a prefix of
  // it, every string extending key is also < start_after, so a whole subtree is pruned at once.
  Position Locate(std::string_view key) const {
    if (start_after_.empty() || key > start_after_) return Position::kAfter;
    if (key.back() == '/' && std::string_view(start_after_).starts_with(key)) {
      return Position::kHoldsStart;
    }
    return Position::kBefore;
  }

  // Reads, filters and sorts one directory and pushes it. false (nothing pushed) if it vanished
  // or is already on the stack.
  Result<bool> Enter(const std::string& path, std::string uri_prefix) {
    ScopedFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) {
      const int err = errno;
      if (Vanished(err)) return false;
      return FromErrno(err, fmt::format("open directory '{}'", path));
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) {
      const int err = errno;
      return FromErrno(err, fmt::format("stat directory '{}'", path));
    }
    for (const Frame& frame : stack_) {
      if (frame.dev == st.st_dev && frame.ino == st.st_ino) return false;
    }
    ScopedDir dir(::fdopendir(fd.get()));
    if (dir == nullptr) {
      const int err = errno;
      return FromErrno(err, fmt::format("open directory '{}'", path));
    }
    const int dir_fd = fd.Release();  // now owned by `dir`

    Frame frame;
    frame.path = path;
    frame.uri_prefix = std::move(uri_prefix);
    frame.dev = st.st_dev;
    frame.ino = st.st_ino;
    std::string uri;
    for (;;) {
      errno = 0;
      const dirent* entry = ::readdir(dir.get());
      if (entry == nullptr) {
        const int err = errno;
        if (err != 0) return FromErrno(err, fmt::format("read directory '{}'", path));
        break;
      }
      const std::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      uri.assign(frame.uri_prefix).append(name);

      bool is_dir;
      switch (entry->d_type) {
        case DT_DIR:
          is_dir = true;
          break;
        case DT_REG:
          is_dir = false;
          break;
        case DT_LNK:
        case DT_UNKNOWN: {
          // Only stat knows what this is. Skip the stat if the entry is pruned either way.
          if (Locate(uri) == Position::kBefore && Locate(uri + '/') == Position::kBefore) continue;
          struct stat target;
          if (::fstatat(dir_fd, entry->d_name, &target, 0) != 0) {
            const int err = errno;
            if (Vanished(err)) continue;
            return FromErrno(err, fmt::format("stat '{}'", JoinPath(path, name)));
          }
          if (!IsCacheable(target)) continue;
          is_dir = S_ISDIR(target.st_mode);
          break;
        }
        default:
          continue;  // FIFO, socket, device
      }
      if (is_dir) uri += '/';
      const Position position = Locate(uri);
      if (position == Position::kBefore) continue;
      if (position == Position::kHoldsStart && !recursive_) continue;
      frame.keys.emplace_back(is_dir ? std::string(name) + '/' : std::string(name));
    }
    // std::string compares bytes as unsigned char, which is the order S3 lists keys in.
    std::sort(frame.keys.begin(), frame.keys.end());
    stack_.push_back(std::move(frame));
    return true;
  }

  Result<std::optional<FileStatus>> Advance() {
    if (pending_) {
      // The directory returned by the previous call: entered now, so its errors belong to this
      // call rather than hiding the entry already returned.
      auto [path, uri_prefix] = std::move(*pending_);
      pending_.reset();
      ALLUVIUM_RETURN_IF_ERROR(Enter(path, std::move(uri_prefix)));
    }
    while (!stack_.empty()) {
      Frame& frame = stack_.back();
      if (frame.next == frame.keys.size()) {
        stack_.pop_back();
        continue;
      }
      const std::string& key = frame.keys[frame.next++];
      const bool is_dir = key.back() == '/';
      std::string uri = frame.uri_prefix + key;  // '/'-suffixed for a directory
      const std::string path =
          JoinPath(frame.path, std::string_view(key).substr(0, key.size() - (is_dir ? 1 : 0)));
      if (Locate(uri) == Position::kHoldsStart) {
        // Listed before the resume point; only part of its subtree remains. `frame` dies here.
        ALLUVIUM_RETURN_IF_ERROR(Enter(path, std::move(uri)));
        continue;
      }
      struct stat st;
      if (::stat(path.c_str(), &st) != 0) {
        const int err = errno;
        if (Vanished(err)) continue;
        return FromErrno(err, fmt::format("stat '{}'", path));
      }
      // Replaced by something of another kind since readdir: returning it here could break the
      // order (a directory's entries would land among the siblings of the file it replaced).
      if (!IsCacheable(st) || S_ISDIR(st.st_mode) != is_dir) continue;
      if (is_dir && recursive_) pending_.emplace(path, uri);
      if (is_dir) uri.pop_back();
      return std::optional<FileStatus>(StatusOf(std::move(uri), st));
    }
    return std::optional<FileStatus>();
  }

  const bool recursive_;
  // Effective resume point: '/'-suffixed if it names a directory, which is where that directory
  // sits in the order.
  const std::string start_after_;
  std::vector<Frame> stack_;  // the directories on the current path, innermost last
  std::optional<std::pair<std::string, std::string>> pending_;  // (path, uri prefix) to enter
  Status error_;  // sticky: after an error the walk's position is lost
};

}  // namespace

Result<FileStatus> LocalFileSystem::GetStatus(std::string_view uri) {
  ALLUVIUM_ASSIGN_OR_RETURN(std::string path, LocalPath(uri));
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    return FromErrno(err, fmt::format("stat '{}'", path));
  }
  if (!IsCacheable(st)) {
    return InvalidArgument(fmt::format("'{}' is not a regular file or directory", path));
  }
  return StatusOf(FileUri(path), st);
}

Result<std::unique_ptr<ListIterator>> LocalFileSystem::List(std::string_view uri,
                                                            const ListOptions& options) {
  ALLUVIUM_ASSIGN_OR_RETURN(std::string path, LocalPath(uri));
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    return FromErrno(err, fmt::format("list '{}'", path));
  }
  if (!S_ISDIR(st.st_mode)) {
    return FailedPrecondition(fmt::format("list '{}': not a directory", path));
  }

  // A caller resuming after a directory passes its URI as FileStatus spells it, without '/'.
  // Its place in the order is URI + '/', after siblings such as "a-b" and "a.txt": look once.
  std::string start_after = options.start_after;
  if (start_after.starts_with(kFilePrefix) && !start_after.ends_with('/')) {
    struct stat start;
    const std::string start_path = start_after.substr(kFilePrefix.size());
    if (::stat(start_path.c_str(), &start) == 0 && S_ISDIR(start.st_mode)) start_after += '/';
  }

  auto iterator = std::make_unique<LocalListIterator>(options.recursive, std::move(start_after));
  std::string uri_prefix = FileUri(path);
  if (path != "/") uri_prefix += '/';
  ALLUVIUM_RETURN_IF_ERROR(iterator->Init(path, std::move(uri_prefix)));
  return std::unique_ptr<ListIterator>(std::move(iterator));
}

Result<std::unique_ptr<FileReader>> LocalFileSystem::Open(std::string_view uri,
                                                          const OpenOptions& options) {
  ALLUVIUM_ASSIGN_OR_RETURN(std::string path, LocalPath(uri));
  // O_NONBLOCK so that opening a FIFO cannot hang waiting for a writer; it has no effect on
  // reads of regular files.
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) {
    const int err = errno;
    return FromErrno(err, fmt::format("open '{}'", path));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    const int err = errno;
    return FromErrno(err, fmt::format("stat '{}'", path));
  }
  if (S_ISDIR(st.st_mode)) {
    return InvalidArgument(fmt::format("open '{}': is a directory", path));
  }
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgument(fmt::format("open '{}': not a regular file", path));
  }
  if (!options.expected_version.empty()) {
    // The open descriptor pins this inode; a later rename over the path does not affect it.
    const FileStatus now = StatusOf(std::string(uri), st);
    if (now.version != options.expected_version) {
      return Aborted(fmt::format("{} changed since it was listed (version {}, now {})", uri,
                                 options.expected_version, now.version));
    }
  }
  std::optional<struct stat> pinned;
  if (!options.expected_version.empty()) pinned = st;
  return std::unique_ptr<FileReader>(
      std::make_unique<LocalFileReader>(std::move(fd), std::move(path), pinned));
}

}  // namespace alluvium::ufs
