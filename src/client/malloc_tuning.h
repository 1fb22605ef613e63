// Keeps glibc malloc from handing a reader's buffers back to the kernel after every message.
//
// gRPC receives each message into freshly malloc'ed 64 KiB slices and frees them once the sink has
// the bytes. With glibc's defaults the freed memory at the top of a heap beyond 128 KiB goes back
// to the kernel at once, so the next message lands in untouched pages: a page fault per 4 KiB,
// which measured here (issue 13) cost a remote reader about half its CPU. Raising the trim
// threshold lets the same memory serve message after message. Thread-safe; process-wide.
#pragma once

#include <cstdint>

namespace alluvium::client {

// The first call with a non-zero threshold sets malloc's trim threshold to it and its mmap
// threshold to 32 MiB (setting one turns off glibc's own adjustment of both, which would
// otherwise have large allocations mmap'ed fresh each time); later calls do nothing. 0 leaves
// malloc alone. Does nothing where malloc is not glibc's.
void TuneMallocForStreaming(uint64_t trim_threshold);

}  // namespace alluvium::client
