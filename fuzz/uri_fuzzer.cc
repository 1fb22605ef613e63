// Fuzzes Uri::Parse, which reads mount targets, REST load paths and index-file lines.
//
// Properties:
// - A parse error is kInvalidArgument; nothing throws or aborts.
// - A parsed URI has a lowercase scheme, an s3 bucket, and a normalised absolute path without
//   "." or ".." components, so no URI names a place above its root.
// - ToString of a parsed URI parses to the same URI, and renders the same again.
#include "common/paths.h"
#include "fuzz_check.h"
#include "ufs/ufs.h"

namespace {

using alluvium::Code;
using alluvium::ufs::Uri;

void CheckPath(std::string_view text, std::string_view path) {
  FUZZ_CHECK(!path.empty() && path.front() == '/', "'{}' has path '{}'", text, path);
  FUZZ_CHECK(path == "/" || path.back() != '/', "'{}' has path '{}'", text, path);
  FUZZ_CHECK(path.find("//") == std::string_view::npos, "'{}' has path '{}'", text, path);
  const std::string slashed = std::string(path) + "/";
  FUZZ_CHECK(slashed.find("/./") == std::string::npos && slashed.find("/../") == std::string::npos,
             "'{}' has path '{}'", text, path);
  auto again = alluvium::NormalizePath(path);
  FUZZ_CHECK(again.ok() && *again == path, "'{}': path '{}' is not normalised", text, path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = alluvium::fuzz::AsText(data, size);
  auto uri = Uri::Parse(text);
  if (!uri.ok()) {
    FUZZ_CHECK(uri.status().code() == Code::kInvalidArgument, "'{}': {}", text, uri.status());
    return 0;
  }
  FUZZ_CHECK(!uri->scheme.empty(), "'{}' has no scheme", text);
  for (char c : uri->scheme) {
    FUZZ_CHECK(!std::isupper(static_cast<unsigned char>(c)), "'{}': scheme '{}'", text,
               uri->scheme);
  }
  FUZZ_CHECK(uri->authority.find('/') == std::string::npos, "'{}': authority '{}'", text,
             uri->authority);
  if (uri->scheme == "file") FUZZ_CHECK(uri->authority.empty(), "'{}' names a host", text);
  if (uri->scheme == "s3") FUZZ_CHECK(!uri->authority.empty(), "'{}' has no bucket", text);
  CheckPath(text, uri->path);
  FUZZ_CHECK(!uri->trailing_slash || uri->path != "/", "'{}': root with a trailing slash", text);

  const std::string rendered = uri->ToString();
  FUZZ_CHECK(rendered.starts_with(uri->Root()), "'{}' renders as '{}', root '{}'", text, rendered,
             uri->Root());
  auto again = Uri::Parse(rendered);
  FUZZ_CHECK(again.ok(), "'{}' renders as '{}', which does not parse: {}", text, rendered,
             again.status());
  FUZZ_CHECK(*again == *uri,
             "'{}' renders as '{}', which parses as {}://{} path '{}' trailing {} (was {}://{} "
             "path '{}' trailing {})",
             text, rendered, again->scheme, again->authority, again->path, again->trailing_slash,
             uri->scheme, uri->authority, uri->path, uri->trailing_slash);
  FUZZ_CHECK(again->ToString() == rendered, "'{}' renders as '{}', then '{}'", text, rendered,
             again->ToString());
  return 0;
}
