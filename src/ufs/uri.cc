// Uri::Parse / Uri::ToString (declared in ufs.h). Pure functions; safe for concurrent use.
//
// The URI is not percent-decoded and has no query or fragment: every byte after the authority is
// path, so local file names holding '%', '?' or '#' round-trip unchanged.
#include <cctype>

#include "common/paths.h"
#include "ufs/ufs.h"

namespace alluvium::ufs {
namespace {

// RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). Schemes are case-insensitive; we keep
// them lowercase so that equal URIs compare equal as strings.
Result<std::string> ParseScheme(std::string_view scheme, std::string_view text) {
  bool valid = !scheme.empty() && std::isalpha(static_cast<unsigned char>(scheme.front()));
  for (char c : scheme) {
    valid =
        valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.');
  }
  if (!valid) return InvalidArgument(fmt::format("URI '{}' has an invalid scheme", text));
  std::string lower(scheme);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

// A light check that catches typos ("s3:///key", "s3://user@bucket") without second-guessing
// S3's naming rules, which differ between regions and S3-compatible stores.
Status CheckBucket(std::string_view bucket, std::string_view text) {
  if (bucket.empty()) {
    return InvalidArgument(
        fmt::format("s3 URI '{}' has no bucket (expected s3://bucket/key)", text));
  }
  for (char c : bucket) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
      return InvalidArgument(
          fmt::format("s3 URI '{}' has an invalid bucket name '{}'", text, bucket));
    }
  }
  return OkStatus();
}

}  // namespace

Result<Uri> Uri::Parse(std::string_view text) {
  if (text.empty()) return InvalidArgument("empty URI");
  // Checked before anything else so that no later message prints a truncated string.
  if (text.find('\0') != std::string_view::npos) return InvalidArgument("URI contains a NUL byte");

  Uri uri;
  std::string_view path;
  if (text.front() == '/') {
    uri.scheme = "file";
    path = text;
  } else {
    const size_t sep = text.find("://");
    if (sep == std::string_view::npos) {
      return InvalidArgument(fmt::format(
          "URI '{}' is neither an absolute path nor of the form scheme://authority/path", text));
    }
    ALLUVIUM_ASSIGN_OR_RETURN(uri.scheme, ParseScheme(text.substr(0, sep), text));
    std::string_view rest = text.substr(sep + 3);
    const size_t slash = rest.find('/');
    uri.authority = std::string(rest.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);

    if (uri.scheme == "file") {
      // Only one spelling per local file, so that cache keys built from URIs agree.
      if (!uri.authority.empty()) {
        return InvalidArgument(fmt::format(
            "file URI '{}' names host '{}'; only local paths are supported (file:///path)", text,
            uri.authority));
      }
      if (path.empty()) return InvalidArgument(fmt::format("file URI '{}' has no path", text));
    } else if (uri.scheme == "s3") {
      ALLUVIUM_RETURN_IF_ERROR(CheckBucket(uri.authority, text));
    }
    if (path.empty()) path = "/";  // "s3://bucket" is the bucket's root
  }

  Result<std::string> normalized = NormalizePath(path);
  if (!normalized.ok()) return normalized.status().WithContext(fmt::format("URI '{}'", text));
  uri.path = std::move(normalized).value();
  uri.trailing_slash = uri.path != "/" && path.back() == '/';
  return uri;
}

std::string Uri::ToString() const {
  std::string out = fmt::format("{}://{}{}", scheme, authority, path);
  if (trailing_slash && path != "/") out += '/';
  return out;
}

}  // namespace alluvium::ufs
