// One region file of the page store: a file of `region_size` bytes holding a region header and
// page records packed after it (format in page_record.h). Pages of many small files share one
// file, so caching a file costs no inode of its own.
//
// A record is written data first, header second: a process killed in between leaves no header,
// so Scan never indexes a torn record. Records are only appended within an epoch; reusing the
// region writes a header with a new epoch, which makes every older record stale.
// The descriptor is opened once and kept; pread/pwrite on distinct ranges are safe from many
// threads at once.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "common/scoped_fd.h"
#include "common/status.h"
#include "pagestore/page_record.h"

namespace alluvium::pagestore {

struct ScannedRecord {
  RecordHeader header;
  uint64_t offset = 0;  // of the record header in the file
};

struct ScannedRegion {
  std::optional<RegionHeader> header;  // nullopt: never used, or the header is damaged
  std::vector<ScannedRecord> records;  // of the header's epoch, in file order
};

class RegionFile {
 public:
  // Opens (creating if missing) the file read-write.
  static Result<RegionFile> Open(std::filesystem::path path, uint64_t region_size);

  // Starts a new epoch: writes the region header. Records of earlier epochs become stale.
  Status WriteHeader(const RegionHeader& header) const;

  // Writes the checksum table and `data` after the header's place, then the header at offset.
  // Errors from FromErrno (ENOSPC -> kResourceExhausted).
  Status WriteRecord(uint64_t offset, const RecordHeader& header,
                     std::span<const std::byte> checksum_table,
                     std::span<const std::byte> data) const;

  // Empties the file, giving its blocks back to the disk.
  Status Truncate() const;

  // Reads exactly out.size() bytes at `offset`; kDataLoss if the file ends first (truncated).
  Status ReadExactly(uint64_t offset, std::span<std::byte> out) const;

  // The header and the chain of records of its epoch from the start of the file, stopping at the
  // first slot that does not hold a valid record of that epoch (never written, torn, stale or
  // damaged) or that would run past the region or hold more than `max_length` bytes.
  // Reads headers only: data is verified by every read.
  ScannedRegion Scan(uint64_t max_length) const;

  int fd() const { return fd_.get(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  RegionFile(std::filesystem::path path, uint64_t region_size, ScopedFd fd)
      : path_(std::move(path)), region_size_(region_size), fd_(std::move(fd)) {}

  // The parts in order from `offset` (PwriteFully), errors naming the file.
  Status WriteParts(uint64_t offset, std::span<iovec> parts) const;
  Status WriteExactly(uint64_t offset, std::span<const std::byte> data) const;

  std::filesystem::path path_;
  uint64_t region_size_ = 0;
  ScopedFd fd_;
};

}  // namespace alluvium::pagestore
