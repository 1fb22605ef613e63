#include "coordinator/scheduler/segments.h"

#include <algorithm>

namespace alluvium::coordinator {

std::vector<SegmentRef> SegmentsOf(const ufs::FileStatus& file, uint64_t segment_size,
                                   bool metadata_only) {
  if (metadata_only || file.length == 0) return {{.status = file, .offset = 0, .length = 0}};
  segment_size = std::max<uint64_t>(segment_size, 1);
  std::vector<SegmentRef> out;
  out.reserve((file.length + segment_size - 1) / segment_size);
  for (uint64_t offset = 0; offset < file.length; offset += segment_size) {
    out.push_back(
        {.status = file, .offset = offset, .length = std::min(segment_size, file.length - offset)});
  }
  return out;
}

}  // namespace alluvium::coordinator
