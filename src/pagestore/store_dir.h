// The layout of one cache directory (one disk) and its lifecycle at startup:
//
//   <dir>/store.lock       flock()ed while a PageStore uses the dir
//   <dir>/store.meta       format, page size, region size and a random dir id (see below)
//   <dir>/regions/<n>      region files 0..count-1 (region_file.h), pages packed inside
//
// A few large files hold every page, so caching many small files creates no inode per file.
// Page and region sizes are recorded because records written under other sizes would be misread:
// a change wipes the regions. So does the older one-file-per-page layout (format 1).
// Immutable after Open; OpenRegions runs once, at store Open.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "common/scoped_fd.h"
#include "common/status.h"
#include "pagestore/region_file.h"

namespace alluvium::pagestore {

struct OpenedRegion {
  RegionFile file;
  ScannedRegion scan;
};

class StoreDir {
  struct PassKey {  // lets Open use make_unique while nobody else can construct
    explicit PassKey() = default;
  };

 public:
  // Creates the layout, locks the dir (kFailedPrecondition if another store holds it), and wipes
  // the regions when store.meta is missing, unreadable or records another format or size.
  static Result<std::unique_ptr<StoreDir>> Open(const std::filesystem::path& root,
                                                uint64_t page_size, uint64_t region_size);

  const std::filesystem::path& root() const { return root_; }
  // Random, created with store.meta and kept across wipes: pages are placed by rendezvous hashing
  // over dir ids, so renaming a mount point moves no pages and adding a disk moves only the
  // pages that now hash to it.
  uint64_t id() const { return id_; }
  std::filesystem::path RegionPath(uint32_t number) const;
  // Bytes the disk has free for us (statvfs), or UINT64_MAX if it cannot tell.
  uint64_t FreeBytes() const;
  // The size of the disk (statvfs), or UINT64_MAX if it cannot tell.
  uint64_t DiskBytes() const;

  // Opens `count` region files and scans them. Of the region files already there, the `count`
  // with the newest records are kept (renumbered into 0..count-1 if the count shrank) and the
  // rest deleted, as are stray files; missing ones are created empty.
  Result<std::vector<OpenedRegion>> OpenRegions(uint32_t count) const;

  StoreDir(PassKey, std::filesystem::path root, uint64_t page_size, uint64_t region_size,
           uint64_t id, ScopedFd lock);

 private:
  const std::filesystem::path root_;
  const std::filesystem::path regions_;  // root_/regions
  const uint64_t page_size_;
  const uint64_t region_size_;
  const uint64_t id_;
  const ScopedFd lock_;  // held for the life of the store
};

}  // namespace alluvium::pagestore
