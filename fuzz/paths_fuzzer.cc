// Fuzzes the cache-path normaliser (NormalizePath) and its helpers, and the mount table that maps
// cache paths to UFS URIs and back through it. The input is one path, or two separated by '\n'.
//
// Properties:
// - NormalizePath fails with kInvalidArgument or gives an absolute path without empty, "." or
//   ".." components and without a trailing slash, that normalises to itself; it fails exactly
//   when ".." would climb above "/" (checked against a depth count) or on bad input.
// - IsPathPrefix, JoinPath and BaseName agree with each other on normalised paths.
// - Resolving a cache path stays inside the mount it resolves through, gives a URI that parses,
//   and that URI maps back (ResolveUfsUri) to a cache path that resolves to the same URI
//   through the same mount.
#include "common/paths.h"
#include "fuzz_check.h"
#include "mounts/mount_table.h"
#include "ufs/ufs.h"

namespace {

using alluvium::BaseName;
using alluvium::Code;
using alluvium::IsPathPrefix;
using alluvium::JoinPath;
using alluvium::NormalizePath;

// Whether "..", applied component by component, would climb above the root.
bool Climbs(std::string_view path) {
  int64_t depth = 0;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(pos, end - pos);
    if (part == "..") {
      if (--depth < 0) return true;
    } else if (!part.empty() && part != ".") {
      ++depth;
    }
    pos = end + 1;
  }
  return false;
}

// Checks one input; returns the normalised path, or "" when it did not normalise.
std::string CheckNormalize(std::string_view path) {
  auto normal = NormalizePath(path);
  const bool valid_input = !path.empty() && path.front() == '/' &&
                           path.size() <= alluvium::kMaxPathLength &&
                           path.find('\0') == std::string_view::npos;
  if (!normal.ok()) {
    FUZZ_CHECK(normal.status().code() == Code::kInvalidArgument, "{}", normal.status());
    FUZZ_CHECK(!valid_input || Climbs(path), "'{}' was refused: {}", path, normal.status());
    return "";
  }
  FUZZ_CHECK(valid_input && !Climbs(path), "'{}' normalised to '{}'", path, *normal);
  const std::string& n = *normal;
  FUZZ_CHECK(!n.empty() && n.front() == '/', "'{}' -> '{}'", path, n);
  FUZZ_CHECK(n == "/" || n.back() != '/', "'{}' -> '{}'", path, n);
  FUZZ_CHECK(n.find("//") == std::string::npos, "'{}' -> '{}'", path, n);
  FUZZ_CHECK((n + "/").find("/./") == std::string::npos, "'{}' -> '{}'", path, n);
  FUZZ_CHECK((n + "/").find("/../") == std::string::npos, "'{}' escapes: '{}'", path, n);
  FUZZ_CHECK(n.size() <= path.size(), "'{}' -> longer '{}'", path, n);
  auto twice = NormalizePath(n);
  FUZZ_CHECK(twice.ok() && *twice == n, "'{}' -> '{}' -> '{}'", path, n,
             twice.ok() ? *twice : twice.status().ToString());

  FUZZ_CHECK(IsPathPrefix("/", n) && IsPathPrefix(n, n), "'{}' is not its own prefix", n);
  FUZZ_CHECK(JoinPath(n, "") == n && JoinPath(n, "/") == n, "'{}' joined with nothing", n);
  const std::string_view base = BaseName(n);
  FUZZ_CHECK(base.find('/') == std::string_view::npos && (n == "/") == base.empty(),
             "BaseName('{}') = '{}'", n, base);
  if (n != "/") {
    const std::string parent = n.substr(0, n.size() - base.size() - 1);
    const std::string parent_or_root = parent.empty() ? "/" : parent;
    FUZZ_CHECK(IsPathPrefix(parent_or_root, n), "'{}' not below its parent", n);
    FUZZ_CHECK(JoinPath(parent_or_root, base) == n, "'{}' not its parent joined with '{}'", n,
               base);
    FUZZ_CHECK(!IsPathPrefix(n, parent_or_root), "'{}' is a prefix of its parent", n);
  }
  return n;
}

void CheckPair(const std::string& a, const std::string& b) {
  // b below a: a + b.
  const std::string joined = JoinPath(a, b);
  const std::string expected = b == "/" ? a : a == "/" ? b : a + b;
  FUZZ_CHECK(joined == expected, "JoinPath('{}', '{}') = '{}'", a, b, joined);
  FUZZ_CHECK(IsPathPrefix(a, joined), "'{}' is not a prefix of '{}'", a, joined);
  const bool prefix = a == "/" || b == a || b.starts_with(a + "/");
  FUZZ_CHECK(IsPathPrefix(a, b) == prefix, "IsPathPrefix('{}', '{}') = {}", a, b, !prefix);
}

const alluvium::mounts::MountTable& Table() {
  static const alluvium::mounts::MountTable table = [] {
    alluvium::mounts::MountTable t;
    // Nested URIs ("s3://bucket" holds "s3://bucket/datasets") and nested paths on purpose.
    for (auto [path, uri] :
         {std::pair{"/", "file:///srv/root"}, std::pair{"/data", "s3://bucket/datasets/"},
          std::pair{"/data/train", "file:///mnt/train"}, std::pair{"/bucket", "s3://bucket"},
          std::pair{"/web", "https://host:8080/a%20b"}}) {
      alluvium::Status st = t.Add({.path = path, .ufs_uri = uri});
      FUZZ_CHECK(st.ok(), "mount {} {}: {}", path, uri, st);
    }
    return t;
  }();
  return table;
}

void CheckResolve(std::string_view input) {
  const auto& table = Table();
  auto resolved = table.ResolveAny(input);
  if (!resolved.ok()) {
    const Code code = resolved.status().code();
    FUZZ_CHECK(code == Code::kInvalidArgument || code == Code::kFailedPrecondition ||
                   code == Code::kNotFound,
               "'{}': {}", input, resolved.status());
    return;
  }
  FUZZ_CHECK(
      resolved->mount != nullptr && IsPathPrefix(resolved->mount->path, resolved->cache_path),
      "'{}' resolved to '{}' outside its mount", input, resolved->cache_path);
  auto normal = NormalizePath(resolved->cache_path);
  FUZZ_CHECK(normal.ok() && *normal == resolved->cache_path, "'{}' resolved to '{}'", input,
             resolved->cache_path);
  auto uri = alluvium::ufs::Uri::Parse(resolved->ufs_uri);
  if (!uri.ok()) {
    // The mount's URI path plus a cache path near kMaxPathLength can be too long: such a URI is
    // refused where it is used (Uri::Parse), never truncated. Nothing else may fail.
    FUZZ_CHECK(resolved->ufs_uri.size() > alluvium::kMaxPathLength,
               "'{}' resolved to URI '{}', which does not parse: {}", input, resolved->ufs_uri,
               uri.status());
    return;
  }
  auto mount_uri = alluvium::ufs::Uri::Parse(resolved->mount->ufs_uri);
  FUZZ_CHECK(mount_uri.ok() && mount_uri->Root() == uri->Root() &&
                 IsPathPrefix(mount_uri->path, uri->path),
             "'{}' resolved to '{}', outside its mount's {}", input, resolved->ufs_uri,
             resolved->mount->ufs_uri);

  // URI -> cache path -> URI is the identity, unless a deeper mount shadows that cache path
  // (with "/" and "/data" mounted, the root's URI ".../data/x" has no cache path of its own).
  auto back = table.ResolveUfsUri(resolved->ufs_uri);
  FUZZ_CHECK(back.ok(), "'{}' -> '{}' does not map back: {}", input, resolved->ufs_uri,
             back.status());
  auto forth = table.Resolve(back->cache_path);
  FUZZ_CHECK(forth.ok(), "'{}' -> '{}' -> '{}' does not resolve: {}", input, resolved->ufs_uri,
             back->cache_path, forth.status());
  if (forth->mount == back->mount) {
    // A URI keeps its trailing slash (an S3 prefix); a cache path has none.
    auto forth_uri = alluvium::ufs::Uri::Parse(forth->ufs_uri);
    FUZZ_CHECK(forth_uri.ok(), "'{}' does not parse", forth->ufs_uri);
    forth_uri->trailing_slash = uri->trailing_slash;
    FUZZ_CHECK(*forth_uri == *uri, "'{}' -> '{}' -> '{}' -> '{}'", input, resolved->ufs_uri,
               back->cache_path, forth->ufs_uri);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = alluvium::fuzz::AsText(data, size);
  const size_t newline = text.find('\n');
  const std::string_view first = text.substr(0, newline);
  const std::string a = CheckNormalize(first);
  CheckResolve(first);
  if (newline == std::string_view::npos) return 0;
  const std::string_view second = text.substr(newline + 1);
  const std::string b = CheckNormalize(second);
  CheckResolve(second);
  if (!a.empty() && !b.empty()) CheckPair(a, b);
  return 0;
}
