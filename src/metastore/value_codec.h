// The on-disk encoding of a CachedStatus, the value stored under its URI in the metastore. Pure
// functions; safe for concurrent use.
//
// Format version 1, integers little-endian:
//   u8  format version (1)
//   u8  flags: bit 0 is_directory; other bits must be 0
//   u64 length
//   i64 mtime_ms
//   i64 cached_at_ms
//   u32 n, the size of the version string (at most kMaxVersionSize)
//   n bytes of version
// and nothing after. A new layout takes a new version byte; old values that no longer decode
// are dropped and refetched, which is cheap for a cache. RocksDB's block checksums catch disk
// corruption; this format's checks catch values that were never ours.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"
#include "metastore/meta_store.h"

namespace alluvium::metastore {

inline constexpr uint8_t kValueFormatVersion = 1;
// Far above any ETag or "<mtime_ns>-<size>-<inode>", low enough that a corrupt length is caught.
inline constexpr size_t kMaxVersionSize = 1024;

// kInvalidArgument if the version string exceeds kMaxVersionSize.
Result<std::string> EncodeCachedStatus(const CachedStatus& cached);

// `uri` is the key the value was stored under; it becomes status.uri. kDataLoss for anything
// EncodeCachedStatus did not produce, or a format version this build does not know.
Result<CachedStatus> DecodeCachedStatus(std::string_view uri, std::string_view value);

}  // namespace alluvium::metastore
