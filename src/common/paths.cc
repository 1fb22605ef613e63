#include "common/paths.h"

#include <vector>

namespace alluvium {

Result<std::string> NormalizePath(std::string_view path) {
  if (path.empty()) return InvalidArgument("empty path");
  if (path.size() > kMaxPathLength) {
    return InvalidArgument(fmt::format("path longer than {} bytes", kMaxPathLength));
  }
  if (path.find('\0') != std::string_view::npos) return InvalidArgument("path contains a NUL byte");
  if (path.front() != '/') return InvalidArgument(fmt::format("path '{}' is not absolute", path));

  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(pos, end - pos);
    pos = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) {
        return InvalidArgument(fmt::format("path '{}' climbs above the root", path));
      }
      parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (std::string_view part : parts) {
    out += '/';
    out += part;
  }
  return out.empty() ? std::string("/") : out;
}

bool IsPathPrefix(std::string_view prefix, std::string_view path) {
  if (prefix == "/") return !path.empty() && path.front() == '/';
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

std::string JoinPath(std::string_view base, std::string_view rest) {
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  if (rest.empty()) return std::string(base);
  std::string out(base);
  if (out.empty() || out.back() != '/') out += '/';
  out += rest;
  return out;
}

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace alluvium
