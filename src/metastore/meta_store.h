// The worker's embedded cache of UFS file statuses, kept in RocksDB under one directory so that a
// restarted worker still knows what it has seen without asking the UFS again. Keyed by URI.
// Safe for concurrent use: rocksdb::DB is, and MetaStore keeps no other mutable state.
//
// Durability is a cache's: a process crash loses nothing, a machine crash may lose the last
// writes (see write_options_ in meta_store.cc). A lost entry is a miss, refetched from the UFS.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

#include "common/status.h"
#include "ufs/ufs.h"

namespace rocksdb {
class DB;
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

  MetaStore(PassKey, std::unique_ptr<rocksdb::DB> db, std::filesystem::path dir);
  ~MetaStore();
  MetaStore(const MetaStore&) = delete;
  MetaStore& operator=(const MetaStore&) = delete;

  // Inserts or replaces the entry for status.uri, stamped with the current wall clock.
  // kInvalidArgument for an empty URI.
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
  const std::unique_ptr<rocksdb::DB> db_;
  const std::filesystem::path dir_;  // for error messages
};

}  // namespace alluvium::metastore
