#include "pagestore/page_reader.h"

#include <sys/uio.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "common/positional_io.h"
#include "pagestore/page_record.h"

namespace alluvium::pagestore {
namespace {

iovec Part(std::byte* data, uint64_t size) { return {.iov_base = data, .iov_len = size}; }

// Per-thread buffers, reused across reads: the table, and the two blocks a range may cover only
// in part (its first and its last), which must be read whole to be verified.
struct Scratch {
  std::vector<std::byte> table;
  std::unique_ptr<std::byte[]> edges =
      std::make_unique_for_overwrite<std::byte[]>(2 * kChecksumBlockSize);
  std::byte* first_block() { return edges.get(); }
  std::byte* last_block() { return edges.get() + kChecksumBlockSize; }
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

}  // namespace

Status ReadPageRange(const PageExtent& extent, uint64_t from, uint64_t to, std::byte* out) {
  if (from >= to || to > extent.length) {
    return InvalidArgument(
        fmt::format("page range [{}, {}) of a page of {} bytes", from, to, extent.length));
  }
  // Blocks [first, last] hold the range; the data read is [cover_start, cover_end).
  const uint64_t first = from / kChecksumBlockSize;
  const uint64_t last = (to - 1) / kChecksumBlockSize;
  const uint64_t cover_start = first * kChecksumBlockSize;
  const uint64_t cover_end = std::min(extent.length, (last + 1) * kChecksumBlockSize);
  const uint64_t first_end = std::min(cover_end, cover_start + kChecksumBlockSize);
  const uint64_t last_start = std::max(first_end, last * kChecksumBlockSize);

  Scratch& scratch = ThreadScratch();
  const uint64_t table_bytes = ChecksumTableBytes(extent.length);
  scratch.table.resize(table_bytes);
  const uint64_t data_offset = extent.offset + table_bytes;

  // Whole blocks inside the range are read where the caller wants them; a block the range
  // covers only in part goes to scratch first. The table is read in the same call when the
  // range starts at the page's first block, right after it on disk.
  iovec parts[4];
  size_t count = 0;
  if (first == 0) parts[count++] = Part(scratch.table.data(), table_bytes);
  const bool first_direct = from == cover_start && first_end <= to;
  std::byte* first_data = first_direct ? out : scratch.first_block();
  parts[count++] = Part(first_data, first_end - cover_start);
  if (last_start > first_end)
    parts[count++] = Part(out + (first_end - from), last_start - first_end);
  const bool has_last = cover_end > first_end;
  const bool last_direct = cover_end == to;
  std::byte* last_data = last_direct ? out + (last_start - from) : scratch.last_block();
  if (has_last) parts[count++] = Part(last_data, cover_end - last_start);

  if (first != 0) {
    iovec table = Part(scratch.table.data(), table_bytes);
    ALLUVIUM_ASSIGN_OR_RETURN(const uint64_t got,
                              PreadFully(extent.fd, extent.offset, {&table, 1}));
    if (got != table_bytes) return DataLoss("region file ends inside a page's checksum table");
  }
  const uint64_t want = (first == 0 ? table_bytes : 0) + (cover_end - cover_start);
  ALLUVIUM_ASSIGN_OR_RETURN(
      const uint64_t got,
      PreadFully(extent.fd, first == 0 ? extent.offset : data_offset + cover_start,
                 std::span(parts, count)));
  if (got != want) return DataLoss("region file ends inside a page");

  if (TableChecksum(scratch.table) != extent.checksum) {
    return DataLoss("page checksum table does not match its record");
  }
  const bool ok =
      BlocksMatch(scratch.table, first, {first_data, first_end - cover_start}) &&
      (last_start <= first_end ||
       BlocksMatch(scratch.table, first + 1, {out + (first_end - from), last_start - first_end})) &&
      (!has_last || BlocksMatch(scratch.table, last, {last_data, cover_end - last_start}));
  if (!ok) return DataLoss("page data does not match its checksums");
  if (!first_direct) {
    std::memcpy(out, scratch.first_block() + (from - cover_start), std::min(first_end, to) - from);
  }
  if (has_last && !last_direct) {
    std::memcpy(out + (last_start - from), scratch.last_block(), to - last_start);
  }
  return OkStatus();
}

}  // namespace alluvium::pagestore
