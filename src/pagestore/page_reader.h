// Verified reads of part of a cached page straight from its region file: the one place that knows
// how a record's checksum table and data lie on disk, shared by the page store's own reads and
// by short-circuit clients, which read the workers' region files themselves.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/status.h"

namespace alluvium::pagestore {

// Where a cached page's bytes are. The bytes at `offset` may be replaced once the page's region
// is evicted, so every read checks them (ReadPageRange): a reused region reads as damaged.
struct PageExtent {
  int fd = -1;
  uint64_t offset = 0;    // of the page's checksum table in the file; the data follows it
  uint64_t length = 0;    // bytes of data
  uint64_t checksum = 0;  // of the checksum table (TableChecksum)
  uint32_t region = 0;    // identifies the file within its store
};

// Copies bytes [from, to) of the page's data into `out` (to - from bytes), after checking the
// blocks they fall in against the page's checksum table and the table against
// extent.checksum: only those blocks are read, so a 4 KiB read costs 4 KiB and the
// table, not the page.
// Requires from < to <= extent.length. kDataLoss when anything does not match or the file ends
// first; FromErrno's code for an error of the read itself. `out` holds garbage after an error.
Status ReadPageRange(const PageExtent& extent, uint64_t from, uint64_t to, std::byte* out);

}  // namespace alluvium::pagestore
