// Absolute slash-separated paths as the cache namespace and UFS URIs use them. Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace alluvium {

inline constexpr size_t kMaxPathLength = 4096;

// "/a//b/./c/../d/" -> "/a/b/d". kInvalidArgument if the path is empty, relative, longer than
// kMaxPathLength, holds a NUL byte, or if ".." would climb above "/".
Result<std::string> NormalizePath(std::string_view path);

// True if `path` equals `prefix` or lies below it, compared by whole components: "/a" is a prefix
// of "/a/b" but not of "/ab". Both must be normalised.
bool IsPathPrefix(std::string_view prefix, std::string_view path);

// Joins a normalised absolute base and a relative remainder: ("/a", "b/c") -> "/a/b/c";
// an empty remainder gives the base.
std::string JoinPath(std::string_view base, std::string_view rest);

// The last component: "/a/b" -> "b"; "/" -> "".
std::string_view BaseName(std::string_view path);

}  // namespace alluvium
