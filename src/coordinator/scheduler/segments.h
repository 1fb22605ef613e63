// How a load splits a file into segments: the unit placed on workers (ring/file_placement.h) and
// sent in Load and CheckCached calls. One definition, so the load, its verification and its
// report agree on every segment's bounds. Pure.
#pragma once

#include <cstdint>
#include <vector>

#include "ufs/ufs.h"

namespace alluvium::coordinator {

// One segment of a file: bytes [offset, offset + length) of the version in `status`.
struct SegmentRef {
  ufs::FileStatus status;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// The file's segments in order; [i] is segment i, as the placement numbers them. Every segment
// is `segment_size` bytes (0 counts as 1) but the last. An empty file, or any file when only its
// metadata is loaded, is one segment of length 0: the worker still records its status.
std::vector<SegmentRef> SegmentsOf(const ufs::FileStatus& file, uint64_t segment_size,
                                   bool metadata_only);

}  // namespace alluvium::coordinator
