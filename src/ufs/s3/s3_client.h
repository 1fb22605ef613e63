// The S3 REST calls the under file system needs (HeadObject, ranged GetObject, ListObjectsV2),
// signed with SigV4, sent over kept-alive connections and retried with backoff when S3 is busy
// or the network fails. Errors name the bucket, the key and S3's error code. Safe for
// concurrent use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "ufs/s3/http_transport.h"
#include "ufs/s3/retry_policy.h"
#include "ufs/s3/s3_options.h"
#include "ufs/s3/s3_xml.h"

namespace alluvium::ufs::s3 {

struct ObjectInfo {
  uint64_t size = 0;
  std::string etag;  // unquoted
  int64_t last_modified_ms = 0;
};

struct ListRequest {
  std::string prefix;
  std::string delimiter;  // "/" lists one level; empty lists every key below prefix
  std::string start_after;
  std::string continuation_token;
  int max_keys = 1000;
};

class S3Client {
 public:
  explicit S3Client(S3Options options);

  const S3Options& options() const { return options_; }

  // kNotFound if there is no such key (or bucket).
  Result<ObjectInfo> HeadObject(std::string_view bucket, std::string_view key);

  // Reads up to out.size() bytes at offset; fewer only at the end of the object, 0 at or past
  // it. With `if_match` set, kAborted when the object's ETag is no longer that (it was replaced
  // since it was listed), so bytes of two versions are never mixed.
  Result<size_t> GetRange(std::string_view bucket, std::string_view key, uint64_t offset,
                          std::span<std::byte> out, std::string_view if_match = {});

  // Streams bytes [offset, offset + length) to `consume` as they arrive, in one GET: fewer,
  // longer requests cost a server less than many ranged ones. Returns the bytes delivered:
  // fewer than `length` only at the object's end. A retry after a failure part way resumes
  // `consume` where it was (no byte is given twice). `if_match` as for GetRange, checked before
  // any byte is given. kCancelled if `consume` returns false.
  Result<uint64_t> GetStream(std::string_view bucket, std::string_view key, uint64_t offset,
                             uint64_t length, std::string_view if_match,
                             const std::function<bool(std::span<const std::byte>)>& consume);

  // One page. kNotFound (NoSuchBucket) for a missing bucket.
  Result<ListPage> ListObjectsV2(std::string_view bucket, const ListRequest& request);

 private:
  struct Call {
    std::string method;
    std::string_view bucket;
    std::string_view key;  // empty for bucket-level calls
    std::vector<std::pair<std::string, std::string>> query;
    std::vector<std::pair<std::string, std::string>> headers;
  };
  // Signs and sends `call`, again while the answer is worth retrying. A non-2xx answer becomes
  // the matching error, except the statuses in `accepted`, which are returned as responses.
  // `sink_for_attempt` (may be null) gives a fresh body sink for each attempt.
  Result<HttpResponse> Execute(const Call& call, std::span<const int> accepted,
                               const std::function<HttpTransport::BodySink()>& sink_for_attempt);
  HttpRequest Sign(const Call& call) const;

  const S3Options options_;
  const RetryPolicy retry_;
  HttpTransport transport_;
};

// "s3://bucket/key", for messages.
std::string ObjectUri(std::string_view bucket, std::string_view key);

}  // namespace alluvium::ufs::s3
