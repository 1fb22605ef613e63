// The worker's embedded cache of UFS file statuses, kept in RocksDB under one directory so that a
// restarted worker still knows what it has seen without asking the UFS again. Keyed by URI.
// Safe for concurrent use: reads run in parallel; writes run one at a time (see write_mu_).
//
// Durability is a cache's: a process crash loses nothing, a machine crash may lose the last
// writes (see write_options_ in meta_store.cc). A lost entry is a miss, refetched from the UFS.
//
// A full or failing disk: a write that fails with an I/O error (kResourceExhausted for ENOSPC)
// closes the database at once, and later writes reopen it, at most once a second, so the store
// works again as soon as the disk does. While it is closed every call fails with kUnavailable;
// callers treat that as a miss and ask the UFS.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string_view>

#include "common/status.h"
#include "ufs/ufs.h"

namespace rocksdb {
class DB;
class Status;
}  // namespace rocksdb

namespace alluvium::metastore {

struct CachedStatus {
  ufs::FileStatus status;
  int64_t cached_at_ms = 0;  // wall clock at Put, ms since the epoch: lets callers expire entries

  friend bool operator==(const CachedStatus&, const CachedStatus&) = default;
};

class MetaStore {
  struct PassKey {
    explicit PassKey() = default;
  };

 public:
  // Creates `dir` and the database if missing. kDataLoss, naming `dir`, if the database there is
  // corrupt: the caller may wipe the directory and start cold, since everything here is a copy.
  static Result<std::unique_ptr<MetaStore>> Open(const std::filesystem::path& dir);

  // Open, but a corrupt database (kDataLoss: damaged or missing files, e.g. after a crash or a
  // bad disk) is deleted and created anew, empty: every entry is a copy of UFS metadata, so
  // starting cold loses nothing, where refusing to open would keep the worker down. Other
  // errors (permissions, I/O, a second process holding the lock) are returned as Open does.
  static Result<std::unique_ptr<MetaStore>> OpenOrReset(const std::filesystem::path& dir);

  MetaStore(PassKey, std::unique_ptr<rocksdb::DB> db, std::filesystem::path dir,
            bool reset_if_damaged);
  ~MetaStore();
  MetaStore(const MetaStore&) = delete;
  MetaStore& operator=(const MetaStore&) = delete;

  // Inserts or replaces the entry for status.uri, stamped with the current wall clock.
  // kInvalidArgument for an empty URI. Writes (Put, Delete, DeletePrefix) fail with the disk's
  // error (kResourceExhausted when full) or kUnavailable while the database is closed after one.
  Status Put(const ufs::FileStatus& status);

  // kNotFound if absent; kDataLoss if the stored value does not decode (Delete it and refetch).
  Result<CachedStatus> Get(std::string_view uri) const;

  // OK whether or not the entry existed.
  Status Delete(std::string_view uri);

  // Drops every entry whose URI starts with these bytes. Byte-wise, not by path component: pass
  // "file:///d/" to drop what lies under d, which keeps "file:///d" and "file:///dx".
  // kInvalidArgument for an empty prefix (which would drop everything). An entry Put concurrently
  // under the prefix may or may not survive.
  Status DeletePrefix(std::string_view uri_prefix);

 private:
  using WriteOp = std::function<rocksdb::Status(rocksdb::DB&)>;

  // Runs `op` against the database under write_mu_; on an I/O error closes the database, reopens
  // it if due and tries once more.
  Status Write(std::string_view context, const WriteOp& op);
  // Closes the database after a failed write. Caller holds write_mu_.
  void CloseAfterFailedWriteLocked(const Status& failure);
  // Whether the database is open, reopening it if it is closed and a second has passed since the
  // last try. Caller holds write_mu_.
  bool EnsureOpenLocked();

  const std::filesystem::path dir_;  // for error messages, and to reopen
  const bool reset_if_damaged_;      // opened by OpenOrReset: reopen the same way

  // Shared by every call that uses db_; exclusive to close or reopen it.
  mutable std::shared_mutex mu_;
  std::unique_ptr<rocksdb::DB> db_;  // guarded by mu_; null while closed after a failed write
  // One write at a time, so that no write reaches RocksDB after one failed and before the
  // database is closed. RocksDB 7 asserts (aborting the process in builds with assertions,
  // Debian's among them) when a file writer that failed is written again: its info log (see
  // rocks::MakeLogger) and, after it resumes by itself, its WAL (fixed in RocksDB 9);
  // without resuming it stays read-only. Writes are small (one per file a load caches): one at
  // a time is cheap. Taken before mu_.
  std::mutex write_mu_;
  std::chrono::steady_clock::time_point next_reopen_;  // guarded by write_mu_
};

}  // namespace alluvium::metastore
