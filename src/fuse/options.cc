#include "fuse/options.h"

#include <unistd.h>

#include <charconv>

#include <fmt/format.h>

#include "common/paths.h"

namespace alluvium::fuse {
namespace {

Result<double> ParseSeconds(std::string_view key, std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !(value >= 0)) {
    return InvalidArgument(fmt::format("-o {}={}: not a number of seconds >= 0", key, text));
  }
  return value;
}

Result<uint32_t> ParseCount(std::string_view key, std::string_view text, std::string_view unit,
                            uint32_t max) {
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value > max) {
    return InvalidArgument(
        fmt::format("-o {}={}: not a number of {} from 0 to {}", key, text, unit, max));
  }
  return value;
}

}  // namespace

Result<FuseOptions> FuseOptions::Parse(std::string_view path, const std::vector<std::string>& o) {
  FuseOptions options;
  ALLUVIUM_ASSIGN_OR_RETURN(options.path, NormalizePath(path));
  options.uid = getuid();
  options.gid = getgid();
  for (std::string_view list : o) {
    while (!list.empty()) {
      const size_t comma = list.find(',');
      const std::string_view option = list.substr(0, comma);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      if (option.empty()) continue;
      const size_t eq = option.find('=');
      const std::string_view key = option.substr(0, eq);
      const std::string_view value =
          eq == std::string_view::npos ? std::string_view() : option.substr(eq + 1);
      if (key == "attr_timeout") {
        ALLUVIUM_ASSIGN_OR_RETURN(options.attr_timeout, ParseSeconds(key, value));
      } else if (key == "entry_timeout") {
        ALLUVIUM_ASSIGN_OR_RETURN(options.entry_timeout, ParseSeconds(key, value));
      } else if (key == "read_ahead_parts") {
        ALLUVIUM_ASSIGN_OR_RETURN(options.read_ahead.max_parts,
                                  ParseCount(key, value, "parts", 1024));
      } else if (key == "push_small_kb") {
        ALLUVIUM_ASSIGN_OR_RETURN(const uint32_t kib, ParseCount(key, value, "KiB", 1024));
        options.push_small_bytes = uint64_t{kib} << 10;
      } else if (key == "read_ahead_kb") {
        ALLUVIUM_ASSIGN_OR_RETURN(options.kernel_read_ahead_kib,
                                  ParseCount(key, value, "KiB", 1 << 20));
      } else if (key == "direct_io") {
        options.direct_io = true;
      } else {
        options.fuse_options.emplace_back(option);
      }
    }
  }
  return options;
}

}  // namespace alluvium::fuse
