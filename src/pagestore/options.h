// Configuration of the worker's page store. A plain value; validate once at startup.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "common/status.h"

namespace alluvium::pagestore {

inline constexpr uint64_t kMinPageSize = uint64_t{4} << 10;   // one filesystem block
inline constexpr uint64_t kMaxPageSize = uint64_t{64} << 20;  // a page is read whole per Read

struct PageStoreOptions {
  // Unit of caching, eviction and checksumming. 1 MiB keeps per-page index memory and file
  // counts small (1 TiB of cache = 1M files) while a cold or partial read, which reads and
  // verifies the whole page, fetches little beyond what was asked. Alluxio's default too.
  uint64_t page_size = uint64_t{1} << 20;
  // Required; one per disk. Pages spread over them by hashing the key.
  std::vector<std::filesystem::path> dirs;
  // Required > 0: total bytes of page data across all dirs. Per-page footers (48 bytes) and
  // filesystem block rounding come on top, so leave some headroom on the disks.
  uint64_t capacity_bytes = 0;

  // kInvalidArgument unless page_size is a power of two in [4 KiB, 64 MiB], dirs is non-empty
  // and capacity_bytes >= page_size.
  Status Validate() const;
};

}  // namespace alluvium::pagestore
