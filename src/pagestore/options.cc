#include "pagestore/options.h"

#include <algorithm>
#include <bit>

#include <fmt/format.h>

#include "pagestore/page_record.h"

namespace alluvium::pagestore {

uint64_t PageStoreOptions::MinRegionSize() const {
  return kRegionHeaderSize + RecordSpan(page_size);
}

uint64_t PageStoreOptions::EffectiveRegionSize() const {
  if (region_size != 0) return region_size;
  // A whole number of full-page records: a 4.7 MiB region of 1 MiB pages would hold four and
  // waste 15% of the cache.
  const uint64_t share = std::min(capacity_bytes / kAutoRegionsPerStore, kMaxAutoRegionSize);
  const uint64_t records =
      share > kRegionHeaderSize ? (share - kRegionHeaderSize) / RecordSpan(page_size) : 0;
  return kRegionHeaderSize + std::max<uint64_t>(1, records) * RecordSpan(page_size);
}

uint64_t PageStoreOptions::FullPageCapacity() const {
  const uint64_t per_region = (EffectiveRegionSize() - kRegionHeaderSize) / RecordSpan(page_size);
  return RegionCount() * per_region * page_size;
}

Status PageStoreOptions::Validate() const {
  if (!std::has_single_bit(page_size) || page_size < kMinPageSize || page_size > kMaxPageSize) {
    return InvalidArgument(fmt::format("page store page_size {} must be a power of two in [{}, {}]",
                                       page_size, kMinPageSize, kMaxPageSize));
  }
  if (dirs.empty()) return InvalidArgument("page store needs at least one dir");
  for (const auto& dir : dirs) {
    if (dir.empty()) return InvalidArgument("page store dir is an empty path");
  }
  if (region_size != 0 && region_size < MinRegionSize()) {
    return InvalidArgument(
        fmt::format("page store region_size {} cannot hold a page of {} bytes (needs {})",
                    region_size, page_size, MinRegionSize()));
  }
  if (capacity_bytes < EffectiveRegionSize()) {
    return InvalidArgument(fmt::format(
        "page store capacity_bytes {} is smaller than one region ({} bytes, for pages of {})",
        capacity_bytes, EffectiveRegionSize(), page_size));
  }
  if (RegionCount() < dirs.size()) {
    return InvalidArgument(fmt::format(
        "page store capacity_bytes {} holds {} regions of {} bytes; {} dirs need one each",
        capacity_bytes, RegionCount(), EffectiveRegionSize(), dirs.size()));
  }
  return OkStatus();
}

}  // namespace alluvium::pagestore
