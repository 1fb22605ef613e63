// AWS Signature Version 4 for requests signed in the Authorization header, as S3 checks them.
// Pure functions of their arguments; safe for concurrent use.
//
// The caller decides what is signed: every header in RequestToSign::headers is signed, and
// nothing is added. So a caller with a session token sends and lists x-amz-security-token
// itself, and S3 callers list x-amz-content-sha256 and x-amz-date too.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace alluvium::ufs::s3 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
};

struct RequestToSign {
  std::string method;  // "GET", "HEAD"
  // Already URI-encoded path, e.g. "/bucket/a%20b.txt"; "" means "/". Signed as given: S3
  // does not normalise paths, so neither do we ("a//b" and "a/./b" are distinct keys).
  std::string canonical_uri;
  std::vector<std::pair<std::string, std::string>> query;    // raw (not encoded), any order
  std::vector<std::pair<std::string, std::string>> headers;  // to sign, any case/order; has host
  std::string payload_hash;  // lowercase hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

// AWS's UriEncode: unreserved bytes (A-Z a-z 0-9 - . _ ~) kept, every other byte %XX with
// uppercase hex; '/' kept when encode_slash is false (object keys in paths).
std::string UriEncode(std::string_view s, bool encode_slash);

// Lowercase hex.
std::string Sha256Hex(std::string_view data);

// The canonical request, byte for byte as AWS builds it: query pairs encoded and sorted,
// header names lowercased, values trimmed with inner runs of whitespace made one space,
// repeated names joined with ',' in the order given.
std::string CanonicalRequest(const RequestToSign& r);

// "host;range;x-amz-date": the lowercased, sorted, distinct names of r.headers.
std::string SignedHeaders(const RequestToSign& r);

// amz_date is the x-amz-date value ("20150830T123600Z"); scope is
// "20150830/us-east-1/service/aws4_request".
std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);

// kSigning, the 32 raw bytes of the HMAC chain over date ("20150830"), region and service.
std::string SigningKey(std::string_view secret_access_key, std::string_view date,
                       std::string_view region, std::string_view service);

// The value of the Authorization header:
// "AWS4-HMAC-SHA256 Credential=.../aws4_request, SignedHeaders=..., Signature=...".
std::string Authorization(const RequestToSign& r, const Credentials& c, std::string_view region,
                          std::string_view service, std::string_view amz_date);

// The x-amz-date value of a time: UTC, "YYYYMMDD'T'HHMMSS'Z'", truncated to the second.
std::string AmzDate(std::chrono::system_clock::time_point t);

}  // namespace alluvium::ufs::s3
