// The on-disk encoding of a region file (see region_file.h): a region header, then page records
// packed one after another. Pure codec, no I/O; safe from any thread.
//
//   region header (64 bytes) at offset 0: magic, format version, epoch, region and page size,
//       and a checksum of the header itself.
//   record, each at a multiple of kRecordAlign: a header of kRecordHeaderSize bytes (magic,
//       version, the page key, data length, the region's epoch, a store-wide write sequence
//       number, xxh3-64 of the checksum table, and a checksum of the header itself), then the
//       checksum table (xxh3-64 of each kChecksumBlockSize block of the data, the last block
//       shorter), then the data.
//
// Checksums per block let a read of part of a page read and verify only the blocks it touches
// (a random 4 KiB read verifies 4 KiB, not the whole 1 MiB page); the header checks the table.
// 4 KiB is the kernel's page: no read through the page cache or FUSE asks for less. The table
// costs 0.2% of the space (2 KiB of a 1 MiB page).
//
// The epoch changes each time a region is reused after eviction, so records left over from an
// earlier use of the same bytes are told apart from the current ones. The sequence number orders
// writes across regions: after a restart the newest record of a key wins and regions are ranked
// for LRU by their newest record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "pagestore/page_key.h"

namespace alluvium::pagestore {

inline constexpr size_t kRegionHeaderSize = 64;
inline constexpr size_t kRecordHeaderSize = 80;
inline constexpr uint64_t kRecordAlign = 64;  // a cache line: keeps headers from straddling one
inline constexpr uint64_t kChecksumBlockSize = 4 << 10;

struct RegionHeader {
  uint64_t epoch = 0;
  uint64_t region_size = 0;
  uint64_t page_size = 0;
};

struct RecordHeader {
  PageKey key;
  uint64_t length = 0;  // bytes of data after the header
  uint64_t epoch = 0;   // the region's epoch when written
  uint64_t seq = 0;
  uint64_t checksum = 0;  // xxh3-64 of the checksum table (TableChecksum)
};

constexpr uint64_t ChecksumBlocks(uint64_t length) {
  return (length + kChecksumBlockSize - 1) / kChecksumBlockSize;
}
constexpr uint64_t ChecksumTableBytes(uint64_t length) {
  return ChecksumBlocks(length) * sizeof(uint64_t);
}
// Bytes from the start of a record of `length` data bytes to its data, and to its end.
constexpr uint64_t RecordDataOffset(uint64_t length) {
  return kRecordHeaderSize + ChecksumTableBytes(length);
}
constexpr uint64_t RecordBytes(uint64_t length) { return RecordDataOffset(length) + length; }
// Bytes a record of `length` data bytes takes in a region, padding included.
constexpr uint64_t RecordSpan(uint64_t length) {
  return (RecordBytes(length) + kRecordAlign - 1) / kRecordAlign * kRecordAlign;
}

// Writes the checksum table of `data` into `table` (ChecksumTableBytes(data.size()) bytes).
void EncodeChecksumTable(std::span<const std::byte> data, std::span<std::byte> table);
// xxh3-64 of an encoded checksum table: what the record header and the index keep of a page.
uint64_t TableChecksum(std::span<const std::byte> table);
// Whether `blocks`, the data of consecutive blocks from `first_block` on (the last one may be the
// page's short final block), match their entries of `table`.
bool BlocksMatch(std::span<const std::byte> table, uint64_t first_block,
                 std::span<const std::byte> blocks);

void EncodeRegionHeader(const RegionHeader& header, std::span<std::byte, kRegionHeaderSize> out);
// nullopt unless magic, version and the header's own checksum are right.
std::optional<RegionHeader> DecodeRegionHeader(std::span<const std::byte, kRegionHeaderSize> in);

void EncodeRecordHeader(const RecordHeader& header, std::span<std::byte, kRecordHeaderSize> out);
// nullopt unless magic, version and the header's own checksum are right (the data is not checked).
std::optional<RecordHeader> DecodeRecordHeader(std::span<const std::byte, kRecordHeaderSize> in);

}  // namespace alluvium::pagestore
