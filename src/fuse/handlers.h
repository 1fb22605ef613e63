// The read-only file system a FUSE mount serves, without FUSE: each kernel request (lookup,
// getattr, readdir(plus), open, read, release, statfs) as a method over the client library, so
// every byte comes through the cache's one read path. fuse_adapter.cc turns requests into calls
// and results into replies; tests call these directly.
//
// What the kernel may cache follows the cache filter: attributes and entries of immutable paths
// for FuseOptions::immutable_timeout, of maxAge paths for that age, of skipCache paths not at
// all; file data stays in the page cache across opens only for immutable data. Each open file
// reads ahead while it is read sequentially (file_reader.h), its buffers freed at release, so
// memory follows the files open, not the files ever read; files read without an open
// (FuseOptions::no_open) keep their read-ahead in a bounded set of the last ones read.
// Safe for concurrent use (libfuse's session loop runs requests on several threads).
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/namespace.h"
#include "common/mutex.h"
#include "common/status.h"
#include "fuse/file_reader.h"
#include "fuse/inode_readers.h"
#include "fuse/inode_table.h"
#include "fuse/options.h"

namespace alluvium::fuse {

// What lookup and readdirplus give the kernel (fuse_entry_param without FUSE).
struct Entry {
  uint64_t inode = 0;  // 0 for "." and "..", which the kernel does not count
  struct stat attr {};
  double attr_timeout = 0;   // seconds
  double entry_timeout = 0;  // seconds
};

struct DirEntry {
  std::string name;
  Entry entry;
  uint64_t next_offset = 0;  // the readdir offset that resumes after this entry
};

struct OpenedFile {
  uint64_t handle = 0;      // for Read and Release
  bool keep_cache = false;  // the page cache of earlier opens is still good
  bool direct_io = false;   // bypass the page cache
};

class Handlers {
 public:
  Handlers(client::Client& client, FuseOptions options);

  // The entry `name` of directory `parent`; counts one lookup of its inode.
  Result<Entry> Lookup(uint64_t parent, std::string_view name);
  void Forget(uint64_t inode, uint64_t nlookup);
  Result<Entry> GetAttr(uint64_t inode);

  // A directory's entries are listed once, at the first readdir after opendir, and served from
  // that snapshot, so readdir calls at successive offsets see one consistent listing (a rewind
  // after DropCaches lists again). kInvalidArgument for a file. Returns the handle for ReadDir.
  Result<uint64_t> OpenDir(uint64_t inode);
  // Offers the entries from `offset` (0: the start, "." and ".." first) to `add` in order until
  // it returns false (the reply is full). With `plus`, each entry `add` takes counts one lookup
  // of its inode, as the kernel counts it; the refused one does not. kNotFound for an unknown
  // handle.
  Status ReadDir(uint64_t handle, uint64_t offset, bool plus,
                 const std::function<bool(const DirEntry&)>& add);
  void ReleaseDir(uint64_t handle);

  // The small files of a listing's readdirplus replies, on their way into the kernel's page
  // cache (FUSE's notify_store). The kernel links the entries' inodes only once it has taken a
  // reply in, so a reply's files wait for its next request on the listing (a readdir or the
  // release), which comes after that; they are added before the reply is sent.
  struct PushFile {
    uint64_t inode = 0;
    uint64_t size = 0;
  };
  class PushQueue {
   public:
    void Add(const std::vector<PushFile>& files);
    std::vector<PushFile> TakeAll();
    std::atomic<uint64_t>& pushed_bytes() { return pushed_bytes_; }

   private:
    Mutex mu_;
    std::vector<PushFile> waiting_ GUARDED_BY(mu_);
    std::atomic<uint64_t> pushed_bytes_{0};
  };
  // The listing's queue, shared: pushes run after a reply, maybe after the kernel released the
  // listing. Null for a handle not open.
  std::shared_ptr<PushQueue> PushQueueOf(uint64_t dir) const;
  // Reads the whole of a file a listing gave the kernel into `out` (its length), for the
  // kernel's page cache: only if the workers of this host hold all of it
  // (Client::ReadCachedHere: never from the UFS) and the listing has not pushed
  // kMaxPushBytesPerListing yet. false: leave the file to the kernel's reads.
  bool ReadToPush(PushQueue& queue, uint64_t inode, std::span<std::byte> out);
  // What one listing pushes at most: a directory of a million small files does not flush the
  // page cache with them.
  static constexpr uint64_t kMaxPushBytesPerListing = 256 << 20;

  // EROFS for flags that would write (O_WRONLY, O_RDWR, O_TRUNC, O_APPEND, O_CREAT), else 0:
  // the mount is read-only whatever the UFS allows.
  static int RefuseWrites(int flags);
  // Opens a file for reading (flags already passed RefuseWrites). kInvalidArgument for a
  // directory. The handle holds the file's read-ahead (file_reader.h) until Release.
  Result<OpenedFile> Open(uint64_t inode);
  // Reads up to out.size() bytes at `offset` of an open file into out; fewer only at end of
  // file. kNotFound for a handle not open.
  Result<size_t> Read(uint64_t handle, uint64_t offset, std::span<std::byte> out);
  // The same without copying what read-ahead holds (FileReader::ReadView). Handle 0 (never one
  // Open gives) is a read without an open (FuseOptions::no_open): the inode's reader serves it.
  Result<FileReader::View> ReadView(uint64_t handle, uint64_t inode, uint64_t offset,
                                    std::span<std::byte> scratch);
  // After a view with read_ahead_due is answered: fetches the open file's next window
  // (FileReader::ReadAhead) on the caller's thread. Nothing for a handle no longer open.
  void ReadAhead(uint64_t handle);
  // Frees the handle's read-ahead buffers.
  void Release(uint64_t handle);
  size_t open_files() const;

  // The workers' cache capacity and use, in 4 KiB blocks; nothing free to write.
  Result<struct statvfs> StatFs();

  // Forgets what the mount remembers of the namespace: the client's file statuses and the
  // mount table, and marks open listings stale so a readdir from offset 0 lists anew. The
  // kernel's caches are the caller's (FuseMount::DropCaches), for the inodes in inodes().
  void DropCaches();

  const InodeTable& inodes() const { return inodes_; }

 private:
  struct OpenDirectory {
    std::string path;
    uint64_t inode = 0;
    std::vector<client::FileInfo> children;  // sorted by name
    uint64_t generation = 0;                 // DropCaches calls before it was listed
    bool listed = false;                     // opened, not listed yet: children is empty
  };

  // The status of a cache path; a directory that only holds mount points (no mount covers it)
  // is shown as an empty directory.
  Result<client::FileInfo> StatPath(const std::string& path);
  // The directory at `inode`, not listed yet; kInvalidArgument for a file.
  Result<std::shared_ptr<OpenDirectory>> UnlistedDirectory(uint64_t inode);
  // Lists a directory now: its UFS entries and the mount points below it.
  Result<std::shared_ptr<const OpenDirectory>> ListDirectory(uint64_t inode);
  Entry MakeEntry(uint64_t inode, const client::FileInfo& info);
  Result<std::string> PathOf(uint64_t inode) const;
  // The reader of an open file: shared, so a read under way keeps it while a release drops it.
  Result<std::shared_ptr<FileReader>> ReaderOf(uint64_t handle) const;
  // The status of the file at `inode` (its path into `path`); kInvalidArgument for a directory.
  Result<client::FileInfo> StatFile(uint64_t inode, std::string& path);
  // A reader of the file, with the daemon's read-ahead only for direct I/O.
  std::shared_ptr<FileReader> NewReader(const std::string& path, const client::FileInfo& info,
                                        bool direct_io);
  // A reader for reads without an open (InodeReaders' make).
  Result<std::shared_ptr<FileReader>> MakeReader(uint64_t inode);
  // Reads straight through the client, as FileReader's fetch.
  Result<size_t> ReadThrough(const std::string& path, uint64_t offset, std::span<std::byte> out);

  client::Client& client_;
  client::Namespace cache_namespace_{client_};
  const FuseOptions options_;
  InodeTable inodes_;

  mutable Mutex mu_;
  // An open directory: its listing (a snapshot, immutable, so ReadDir uses one without the
  // lock) and the small files its replies gave the kernel, waiting to be pushed.
  struct DirHandle {
    std::shared_ptr<const OpenDirectory> dir;
    std::shared_ptr<PushQueue> push_queue;
  };
  std::map<uint64_t, DirHandle> dirs_ GUARDED_BY(mu_);  // by handle
  uint64_t next_dir_ GUARDED_BY(mu_) = 1;
  uint64_t generation_ GUARDED_BY(mu_) = 0;
  // Shared, so a read under way keeps its reader while a release drops the handle.
  std::map<uint64_t, std::shared_ptr<FileReader>> files_ GUARDED_BY(mu_);  // by handle
  uint64_t next_file_ GUARDED_BY(mu_) = 1;
  InodeReaders inode_readers_;  // reads without an open (no_open)
};

}  // namespace alluvium::fuse
