#include "pagestore/page_key.h"

#include <xxhash.h>

namespace alluvium::pagestore {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string FileId::ToHex() const { return fmt::format("{:016x}{:016x}", hi, lo); }

Result<FileId> FileId::FromHex(std::string_view hex) {
  if (hex.size() != 32) {
    return InvalidArgument(fmt::format("file id must be 32 hex digits, got {} chars", hex.size()));
  }
  uint64_t halves[2] = {0, 0};
  for (size_t i = 0; i < hex.size(); ++i) {
    const int v = HexValue(hex[i]);
    if (v < 0) return InvalidArgument(fmt::format("file id has a non-hex digit at {}", i));
    halves[i / 16] = (halves[i / 16] << 4) | static_cast<uint64_t>(v);
  }
  return FileId{.hi = halves[0], .lo = halves[1]};
}

FileId FileIdOf(std::string_view uri, std::string_view version) {
  // The NUL keeps ("ab", "c") and ("a", "bc") apart: neither a URI nor a version holds one.
  // One small string per call; XXH3's streaming state is only ABI-stable when linked statically.
  std::string input;
  input.reserve(uri.size() + 1 + version.size());
  input.append(uri).push_back('\0');
  input.append(version);
  const XXH128_hash_t h = XXH3_128bits(input.data(), input.size());
  return FileId{.hi = h.high64, .lo = h.low64};
}

size_t PageKeyHash::operator()(const PageKey& key) const {
  // The file id is already a uniform hash; mixing in the index with a multiply spreads
  // consecutive pages of one file across buckets.
  return static_cast<size_t>(key.file.lo ^ (key.index * 0x9E3779B97F4A7C15ULL) ^ key.file.hi);
}

}  // namespace alluvium::pagestore
