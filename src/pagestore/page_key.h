// Names of cached pages: FileId (one version of one UFS file) and PageKey (one page of it).
// Plain values; safe to share between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "common/status.h"

namespace alluvium::pagestore {

// 128-bit xxh3 of uri + '\0' + version. A new version gives a new id, so a changed file is never
// served from old pages; the old pages just age out through LRU. 128 bits make collisions
// between distinct files negligible even across billions of files.
struct FileId {
  uint64_t hi = 0;
  uint64_t lo = 0;

  // 32 lowercase hex digits, hi first: the form used in page file names.
  std::string ToHex() const;
  // kInvalidArgument unless exactly 32 hex digits (either case).
  static Result<FileId> FromHex(std::string_view hex);

  friend bool operator==(const FileId&, const FileId&) = default;
};

FileId FileIdOf(std::string_view uri, std::string_view version);

struct PageKey {
  FileId file;
  uint64_t index = 0;  // page number within the file: byte offset / page_size

  friend bool operator==(const PageKey&, const PageKey&) = default;
};

struct PageKeyHash {
  size_t operator()(const PageKey& key) const;
};

}  // namespace alluvium::pagestore

// "<32-hex file id>_<index>", as in page file names and logs.
template <>
struct fmt::formatter<alluvium::pagestore::PageKey> : fmt::formatter<std::string_view> {
  template <typename Ctx>
  auto format(const alluvium::pagestore::PageKey& key, Ctx& ctx) const {
    return fmt::format_to(ctx.out(), "{}_{}", key.file.ToHex(), key.index);
  }
};
