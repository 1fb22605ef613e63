// preadv/pwritev of scattered buffers that carry on after short transfers and EINTR, for files
// read and written at explicit offsets by many threads at once (the page store's region files).
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>

#include "common/status.h"

namespace alluvium {

// Fills `parts` in order from `offset` on. Returns the bytes read: fewer than the parts hold only
// when the file ends first. An error is the errno's status (FromErrno). `parts` is consumed.
Result<uint64_t> PreadFully(int fd, uint64_t offset, std::span<iovec> parts);

// Writes `parts` in order from `offset` on, all of them or an error (FromErrno: ENOSPC is
// kResourceExhausted). `parts` is consumed.
Status PwriteFully(int fd, uint64_t offset, std::span<iovec> parts);

}  // namespace alluvium
