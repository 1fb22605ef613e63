// The XML bodies S3 answers with: a ListObjectsV2 page and an error. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace alluvium::ufs::s3 {

struct ObjectEntry {
  std::string key;
  uint64_t size = 0;
  std::string etag;  // without the quotes S3 puts around it
  int64_t last_modified_ms = 0;
};

struct ListPage {
  std::vector<ObjectEntry> objects;          // in key order
  std::vector<std::string> common_prefixes;  // each ends with the delimiter, in order
  bool truncated = false;
  std::string next_continuation_token;  // set when truncated
};

struct ErrorBody {
  std::string code;  // "NoSuchKey", "SlowDown", ...; empty if the body had none
  std::string message;
};

// kDataLoss for a body that is not a ListBucketResult (or claims more pages without a token).
Result<ListPage> ParseListObjectsV2(std::string_view xml);
// Never fails: a body that is not an S3 error gives empty fields.
ErrorBody ParseError(std::string_view xml);

// "2024-01-31T12:34:56.789Z" -> ms since the epoch.
Result<int64_t> ParseIso8601(std::string_view text);
// RFC 7231 "Wed, 31 Jan 2024 12:34:56 GMT" (Last-Modified) -> ms since the epoch.
Result<int64_t> ParseHttpDate(std::string_view text);

// "\"abc\"" -> "abc": S3 quotes ETags in headers and listings alike.
std::string UnquoteEtag(std::string_view etag);

}  // namespace alluvium::ufs::s3
