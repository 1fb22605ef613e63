// The on-disk encoding of a region file (see region_file.h): a region header, then page records
// packed one after another. Pure codec, no I/O; safe from any thread.
//
//   region header (64 bytes) at offset 0: magic, format version, epoch, region and page size,
//       and a checksum of the header itself.
//   record (kRecordHeaderSize bytes, then the page's data), each at a multiple of kRecordAlign:
//       magic, version, the page key, data length, the region's epoch, a store-wide write
//       sequence number, xxh3-64 of the data, and a checksum of the header itself.
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
  uint64_t checksum = 0;  // xxh3-64 of the data
};

// Bytes a record of `length` data bytes takes in a region, padding included.
constexpr uint64_t RecordSpan(uint64_t length) {
  return (kRecordHeaderSize + length + kRecordAlign - 1) / kRecordAlign * kRecordAlign;
}

// xxh3-64 of page data: what records store and reads verify.
uint64_t DataChecksum(std::span<const std::byte> data);

void EncodeRegionHeader(const RegionHeader& header, std::span<std::byte, kRegionHeaderSize> out);
// nullopt unless magic, version and the header's own checksum are right.
std::optional<RegionHeader> DecodeRegionHeader(std::span<const std::byte, kRegionHeaderSize> in);

void EncodeRecordHeader(const RecordHeader& header, std::span<std::byte, kRecordHeaderSize> out);
// nullopt unless magic, version and the header's own checksum are right (the data is not checked).
std::optional<RecordHeader> DecodeRecordHeader(std::span<const std::byte, kRecordHeaderSize> in);

}  // namespace alluvium::pagestore
