// The short-circuit read protocol between a client and a worker on the same host, over a Unix
// domain socket of type SOCK_SEQPACKET (one message per send, boundaries kept). The worker hands
// the client descriptors of its page store's region files (SCM_RIGHTS) and, per page, where the
// page's checksum table and bytes are and the table's checksum; the client reads them itself and
// verifies them (pagestore/page_reader.h), since the worker may reuse a region at any time after
// answering. Plain structs in host byte order: both ends are on one host.
//
//   on connect       worker -> Hello
//   Locate request   client -> Request{kLocate, file, first_page, count, uri_length} + the
//                    file's UFS URI (the worker answers "not cached" for a file its cache
//                    filter does not hold immutable, so its rules apply)   worker -> LocateReply
//   GetFd request    client -> Request{kGetFd, region}                   worker -> FdReply + fd
//   LocateFirstPages client -> Request{kLocateFirstPages, count} + count FileRef + their URIs
//                    (concatenated)   worker -> LocateReply: page 0 of each file, as a client
//                    that has just listed small files asks for them all at once
#pragma once

#include <cstdint>

namespace alluvium::shortcircuit {

inline constexpr uint32_t kMagic = 0x52435341;  // "ASCR"
inline constexpr uint32_t kVersion = 2;         // 2: checksums per 4 KiB block
// Pages per Locate: keeps a reply (32 bytes a page) well under the socket's buffer.
inline constexpr uint32_t kMaxPagesPerLocate = 1024;
inline constexpr size_t kWorkerIdBytes = 64;
inline constexpr uint32_t kMaxUriBytes = 8192;

struct Hello {
  uint32_t magic = kMagic;
  uint32_t version = kVersion;
  uint64_t page_size = 0;
  uint32_t regions = 0;
  uint32_t reserved = 0;
  char worker_id[kWorkerIdBytes] = {};  // NUL-padded
};

enum RequestType : uint32_t { kLocate = 1, kGetFd = 2, kLocateFirstPages = 3 };

// Files per LocateFirstPages request, and its most bytes (well under a socket's buffer).
inline constexpr uint32_t kMaxFilesPerLocate = 256;
inline constexpr size_t kMaxRequestBytes = 64 << 10;

struct FileRef {
  uint64_t file_hi = 0;
  uint64_t file_lo = 0;
  uint32_t uri_length = 0;
  uint32_t reserved = 0;
};

struct Request {
  uint32_t type = 0;
  uint32_t count = 0;  // kLocate: pages, 1..kMaxPagesPerLocate
  uint64_t file_hi = 0;
  uint64_t file_lo = 0;
  uint64_t first_page = 0;
  uint32_t region = 0;      // kGetFd
  uint32_t uri_length = 0;  // kLocate: bytes of URI after the request, up to kMaxUriBytes
};

struct PageLocation {
  uint32_t found = 0;  // 0: not cached (read it through the worker)
  uint32_t region = 0;
  uint64_t offset = 0;    // of the page's checksum table in the region file; the data follows
  uint64_t length = 0;    // of the data
  uint64_t checksum = 0;  // of the checksum table (pagestore::TableChecksum)
};

struct LocateReplyHeader {
  uint32_t count = 0;  // PageLocation entries that follow
  uint32_t reserved = 0;
};

struct FdReply {
  uint32_t ok = 0;  // 1: one descriptor is attached
  uint32_t reserved = 0;
};

static_assert(sizeof(Hello) == 88);
static_assert(sizeof(Request) == 40);
static_assert(sizeof(PageLocation) == 32);
static_assert(sizeof(FileRef) == 24);

}  // namespace alluvium::shortcircuit
