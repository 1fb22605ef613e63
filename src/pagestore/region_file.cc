#include "pagestore/region_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <vector>

#include "common/positional_io.h"
#include "common/status_mapping.h"

namespace alluvium::pagestore {

Result<RegionFile> RegionFile::Open(std::filesystem::path path, uint64_t region_size) {
  ScopedFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return FromErrno(errno, path.string());
  return RegionFile(std::move(path), region_size, std::move(fd));
}

Status RegionFile::WriteParts(uint64_t offset, std::span<iovec> parts) const {
  return PwriteFully(fd_.get(), offset, parts).WithContext(path_.string());
}

Status RegionFile::WriteExactly(uint64_t offset, std::span<const std::byte> data) const {
  iovec part{.iov_base = const_cast<std::byte*>(data.data()), .iov_len = data.size()};
  return WriteParts(offset, {&part, 1});
}

Status RegionFile::ReadExactly(uint64_t offset, std::span<std::byte> out) const {
  iovec part{.iov_base = out.data(), .iov_len = out.size()};
  Result<uint64_t> got = PreadFully(fd_.get(), offset, {&part, 1});
  if (!got.ok()) return got.status().WithContext(path_.string());
  if (*got < out.size()) {
    return DataLoss(fmt::format("{}: region file ends at {}", path_.string(), offset + *got));
  }
  return OkStatus();
}

Status RegionFile::Truncate() const {
  if (::ftruncate(fd_.get(), 0) != 0) return FromErrno(errno, path_.string());
  return OkStatus();
}

Status RegionFile::WriteHeader(const RegionHeader& header) const {
  std::array<std::byte, kRegionHeaderSize> bytes;
  EncodeRegionHeader(header, bytes);
  return WriteExactly(0, bytes);
}

Status RegionFile::WriteRecord(uint64_t offset, const RecordHeader& header,
                               std::span<const std::byte> checksum_table,
                               std::span<const std::byte> data) const {
  iovec parts[2] = {
      {.iov_base = const_cast<std::byte*>(checksum_table.data()), .iov_len = checksum_table.size()},
      {.iov_base = const_cast<std::byte*>(data.data()), .iov_len = data.size()}};
  ALLUVIUM_RETURN_IF_ERROR(WriteParts(offset + kRecordHeaderSize, parts));
  std::array<std::byte, kRecordHeaderSize> bytes;
  EncodeRecordHeader(header, bytes);
  return WriteExactly(offset, bytes);
}

ScannedRegion RegionFile::Scan(uint64_t max_length) const {
  ScannedRegion scan;
  std::array<std::byte, kRegionHeaderSize> region_bytes;
  if (!ReadExactly(0, region_bytes).ok()) return scan;
  scan.header = DecodeRegionHeader(region_bytes);
  if (!scan.header || scan.header->region_size != region_size_) {
    scan.header.reset();
    return scan;
  }
  // A record cut off by a truncated file is not indexed; one damaged in place is caught on read.
  struct stat st;
  if (::fstat(fd_.get(), &st) != 0) return scan;
  const uint64_t file_end = std::min<uint64_t>(region_size_, static_cast<uint64_t>(st.st_size));
  // Small records are read a window at a time (one read for dozens of headers); behind a large
  // one only its header is read, so a store of big pages is not read whole at startup.
  constexpr uint64_t kWindow = 256 << 10;
  constexpr uint64_t kSmallRecord = 16 << 10;
  std::vector<std::byte> window;
  uint64_t window_start = 0;
  uint64_t last_span = 0;
  for (uint64_t offset = kRegionHeaderSize; offset + kRecordHeaderSize <= file_end;) {
    if (offset < window_start || offset + kRecordHeaderSize > window_start + window.size()) {
      const uint64_t want = last_span != 0 && last_span <= kSmallRecord
                                ? std::min(kWindow, file_end - offset)
                                : kRecordHeaderSize;
      window.resize(want);
      if (!ReadExactly(offset, window).ok()) break;
      window_start = offset;
    }
    const std::optional<RecordHeader> record =
        DecodeRecordHeader(std::span<const std::byte, kRecordHeaderSize>(
            window.data() + (offset - window_start), kRecordHeaderSize));
    if (!record || record->epoch != scan.header->epoch || record->length == 0 ||
        record->length > max_length || offset + RecordBytes(record->length) > file_end) {
      break;
    }
    scan.records.push_back({.header = *record, .offset = offset});
    last_span = RecordSpan(record->length);
    offset += last_span;
  }
  return scan;
}

}  // namespace alluvium::pagestore
