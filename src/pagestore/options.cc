#include "pagestore/options.h"

#include <bit>

#include <fmt/format.h>

namespace alluvium::pagestore {

Status PageStoreOptions::Validate() const {
  if (!std::has_single_bit(page_size) || page_size < kMinPageSize || page_size > kMaxPageSize) {
    return InvalidArgument(fmt::format("page store page_size {} must be a power of two in [{}, {}]",
                                       page_size, kMinPageSize, kMaxPageSize));
  }
  if (dirs.empty()) return InvalidArgument("page store needs at least one dir");
  for (const auto& dir : dirs) {
    if (dir.empty()) return InvalidArgument("page store dir is an empty path");
  }
  if (capacity_bytes < page_size) {
    return InvalidArgument(
        fmt::format("page store capacity_bytes {} is smaller than one page ({} bytes)",
                    capacity_bytes, page_size));
  }
  return OkStatus();
}

}  // namespace alluvium::pagestore
