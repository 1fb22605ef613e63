// Configuration of the worker's page store. A plain value; validate once at startup.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "common/status.h"

namespace alluvium::pagestore {

inline constexpr uint64_t kMinPageSize = uint64_t{4} << 10;   // one filesystem block
inline constexpr uint64_t kMaxPageSize = uint64_t{64} << 20;  // a page is read whole per Read
inline constexpr uint64_t kMaxAutoRegionSize = uint64_t{64} << 20;
inline constexpr uint64_t kAutoRegionsPerStore = 64;

struct PageStoreOptions {
  // Unit of caching and checksumming. 1 MiB keeps per-page index memory small while a cold or
  // partial read, which reads and verifies the whole page, fetches little beyond what was asked.
  // Alluxio's default too.
  uint64_t page_size = uint64_t{1} << 20;
  // Required; one per disk. Pages spread over them by hashing the key.
  std::vector<std::filesystem::path> dirs;
  // Required: bytes of disk the store may use across all dirs, in whole regions (at least one).
  uint64_t capacity_bytes = 0;
  // Pages are packed into region files of this size, the unit of eviction. 0 picks about 1/64
  // of the capacity (so one eviction drops at most ~1.6% of the cache), at most 64 MiB, rounded
  // down to a whole number of full-page records (at least one).
  uint64_t region_size = 0;

  // The region size in use: region_size, or the automatic choice.
  uint64_t EffectiveRegionSize() const;
  // The smallest region that holds one page of page_size.
  uint64_t MinRegionSize() const;
  uint64_t RegionCount() const { return capacity_bytes / EffectiveRegionSize(); }
  // Data bytes of full pages the store holds: what a load of large files can have in it.
  uint64_t FullPageCapacity() const;

  // kInvalidArgument unless page_size is a power of two in [4 KiB, 64 MiB], dirs is non-empty,
  // region_size (when set) holds a page, and capacity_bytes holds one region.
  Status Validate() const;
};

}  // namespace alluvium::pagestore
