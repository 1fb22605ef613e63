#include "client/malloc_tuning.h"

#include <algorithm>
#include <climits>
#include <mutex>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "common/logging.h"

namespace alluvium::client {

void TuneMallocForStreaming(uint64_t trim_threshold) {
  if (trim_threshold == 0) return;
  static std::once_flag once;
  std::call_once(once, [trim_threshold] {
#if defined(__GLIBC__)
    const int trim = static_cast<int>(std::min<uint64_t>(trim_threshold, INT_MAX));
    const bool ok =
        mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, trim) == 1;
    ALLUVIUM_LOG(DEBUG, "malloc trim threshold {} bytes: {}", trim, ok ? "set" : "refused");
#endif
  });
}

}  // namespace alluvium::client
