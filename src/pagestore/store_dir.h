// The layout of one cache directory (one disk) and its lifecycle at startup:
//
//   <dir>/store.lock            flock()ed while a PageStore uses the dir
//   <dir>/store.meta            format, page size and a random dir id (see below)
//   <dir>/tmp/                  pages being written; emptied at Open
//   <dir>/pages/<hh>/<id>_<n>   page n of file id <id> (32 hex), in bucket <hh> = id[0:2]
//
// 256 buckets pre-created at Open keep directories small without a directory per file, so small
// files cost one inode each. The page size is recorded because pages written under another size
// would be misread (page n would cover other bytes): a change wipes the pages.
// Immutable after Open, so path helpers are safe from many threads; Scan runs once, at Open.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/scoped_fd.h"
#include "common/status.h"
#include "pagestore/page_key.h"

namespace alluvium::pagestore {

struct ScannedPage {
  PageKey key;
  uint64_t length = 0;
  int64_t mtime_ns = 0;
};

struct ScanResult {
  std::vector<ScannedPage> pages;  // valid pages that belong in this dir
  uint64_t dropped = 0;            // damaged or foreign files deleted
  uint64_t misplaced = 0;          // valid pages that now hash to another dir, deleted
};

class StoreDir {
  struct PassKey {  // lets Open use make_unique while nobody else can construct
    explicit PassKey() = default;
  };

 public:
  // Creates the layout, locks the dir (kFailedPrecondition if another store holds it), empties
  // tmp/, and wipes pages/ when store.meta is missing, unreadable or records another page size.
  static Result<std::unique_ptr<StoreDir>> Open(const std::filesystem::path& root,
                                                uint64_t page_size);

  const std::filesystem::path& root() const { return root_; }
  // Random, created with store.meta and kept across page-size wipes: pages are placed by
  // rendezvous hashing over dir ids, so renaming a mount point moves no pages and adding a disk
  // moves only the pages that now hash to it.
  uint64_t id() const { return id_; }

  std::string PagePath(const PageKey& key) const;
  // Unique per (key, seq): concurrent writers of one key never share a temp file.
  std::string TempPath(const PageKey& key, uint64_t seq) const;

  // Lists the pages on disk, checking each file's name, size and footer (not its checksum) and
  // deleting those that fail, or for which `belongs_here` says false.
  ScanResult Scan(const std::function<bool(const PageKey&)>& belongs_here) const;

  StoreDir(PassKey, std::filesystem::path root, uint64_t page_size, uint64_t id, ScopedFd lock);

 private:
  const std::filesystem::path root_;
  const std::string pages_;  // root_/pages
  const std::string tmp_;    // root_/tmp
  const uint64_t page_size_;
  const uint64_t id_;
  const ScopedFd lock_;  // held for the life of the store
};

}  // namespace alluvium::pagestore
