// The on-disk format of one page: a file holding the page's data followed by a 48-byte footer
// (magic, format version, data length, xxh3-64 of the data, and the page key). Writes are atomic
// (temp file + rename); reads verify the whole page before returning any byte. Free functions
// on distinct paths are safe to call from many threads; a page file is never modified in place,
// only replaced by rename or unlinked, so a reader with an open fd sees one complete version.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

#include "common/status.h"
#include "pagestore/page_key.h"

namespace alluvium::pagestore {

inline constexpr size_t kPageFooterSize = 48;

// Writes `data` and its footer to `temp_path` (which must not exist), then renames it onto
// `path`, replacing any older version. A crash leaves either the old file, the new one, or a
// temp file that Open deletes; never a half page under `path`.
// No fsync: it would cost a disk flush per page and cap throughput at the disk's flush rate.
// After a power loss a renamed page may hold zeros or stale blocks; the checksum catches that on
// the next read and the page is refetched, which is all a cache needs.
// Errors come from FromErrno (ENOSPC -> kResourceExhausted); the temp file is removed on error.
Status WritePageFile(const std::filesystem::path& temp_path, const std::filesystem::path& path,
                     const PageKey& key, std::span<const std::byte> data);

// Copies bytes [offset, offset + out.size()) of the page's data into `out` after verifying the
// file size, footer, key and checksum of the whole page. Returns the bytes copied: fewer than
// out.size(), or 0, when the range runs past the data. kNotFound if the file does not exist;
// kDataLoss if it is damaged (or the disk reports EIO); other errors from FromErrno.
Result<size_t> ReadPageFile(const std::filesystem::path& path, const PageKey& key,
                            uint64_t max_length, uint64_t offset, std::span<std::byte> out);

struct PageFileInfo {
  uint64_t length = 0;   // bytes of page data
  int64_t mtime_ns = 0;  // last write, for LRU order after a restart
};

// Checks the size and footer only (not the checksum: reading every byte at startup would be too
// slow for big stores, and reads verify anyway). kDataLoss if invalid, kNotFound if missing.
Result<PageFileInfo> InspectPageFile(const std::filesystem::path& path, const PageKey& key,
                                     uint64_t max_length);

}  // namespace alluvium::pagestore
