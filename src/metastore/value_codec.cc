// EncodeCachedStatus / DecodeCachedStatus: see value_codec.h for the format.
#include "metastore/value_codec.h"

#include <cstdint>
#include <type_traits>

namespace alluvium::metastore {
namespace {

constexpr uint8_t kDirectoryFlag = 1;
constexpr size_t kFixedSize = 1 + 1 + 8 + 8 + 8 + 4;

// Byte by byte, so the format does not depend on the host's endianness.
template <typename T>
void PutLittleEndian(std::string& out, T value) {
  auto bits = static_cast<std::make_unsigned_t<T>>(value);
  for (size_t i = 0; i < sizeof(T); ++i) {
    out.push_back(static_cast<char>(bits & 0xff));
    bits = static_cast<decltype(bits)>(bits >> 8);
  }
}

// Consumes sizeof(T) bytes from the front of `in`; the caller checked there are enough.
template <typename T>
T TakeLittleEndian(std::string_view& in) {
  std::make_unsigned_t<T> bits = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    bits |= static_cast<decltype(bits)>(static_cast<uint8_t>(in[i])) << (8 * i);
  }
  in.remove_prefix(sizeof(T));
  return static_cast<T>(bits);
}

}  // namespace

Result<std::string> EncodeCachedStatus(const CachedStatus& cached) {
  const ufs::FileStatus& status = cached.status;
  if (status.version.size() > kMaxVersionSize) {
    return InvalidArgument(fmt::format("version of '{}' is {} bytes, more than {}", status.uri,
                                       status.version.size(), kMaxVersionSize));
  }
  std::string out;
  out.reserve(kFixedSize + status.version.size());
  out.push_back(static_cast<char>(kValueFormatVersion));
  out.push_back(static_cast<char>(status.is_directory ? kDirectoryFlag : 0));
  PutLittleEndian<uint64_t>(out, status.length);
  PutLittleEndian<int64_t>(out, status.mtime_ms);
  PutLittleEndian<int64_t>(out, cached.cached_at_ms);
  PutLittleEndian<uint32_t>(out, static_cast<uint32_t>(status.version.size()));
  out.append(status.version);
  return out;
}

Result<CachedStatus> DecodeCachedStatus(std::string_view uri, std::string_view value) {
  auto corrupt = [&](std::string_view why) {
    return DataLoss(fmt::format("cached status of '{}' is corrupt: {}", uri, why));
  };
  if (value.empty()) return corrupt("empty value");
  const auto format = static_cast<uint8_t>(value[0]);
  if (format != kValueFormatVersion) {
    return corrupt(fmt::format("unknown format version {}", format));
  }
  if (value.size() < kFixedSize) {
    return corrupt(
        fmt::format("{} bytes, fewer than the {} of the fixed fields", value.size(), kFixedSize));
  }
  value.remove_prefix(1);
  const auto flags = TakeLittleEndian<uint8_t>(value);
  if ((flags & ~kDirectoryFlag) != 0) return corrupt(fmt::format("unknown flags {:#x}", flags));

  CachedStatus cached;
  cached.status.uri = std::string(uri);
  cached.status.is_directory = (flags & kDirectoryFlag) != 0;
  cached.status.length = TakeLittleEndian<uint64_t>(value);
  cached.status.mtime_ms = TakeLittleEndian<int64_t>(value);
  cached.cached_at_ms = TakeLittleEndian<int64_t>(value);
  const auto version_size = TakeLittleEndian<uint32_t>(value);
  if (version_size > kMaxVersionSize) {
    return corrupt(fmt::format("version size {} exceeds {}", version_size, kMaxVersionSize));
  }
  if (value.size() != version_size) {
    return corrupt(
        fmt::format("{} bytes follow the fixed fields, expected {}", value.size(), version_size));
  }
  cached.status.version = std::string(value);
  return cached;
}

}  // namespace alluvium::metastore
