// The under file system for "s3://bucket/key" URIs, on any S3-compatible service. Keys map to
// files; "directories" are key prefixes ending in '/', as the S3 console and every S3 tool see
// them. A file's version is its ETag, so a replaced object gets new cache pages. Safe for
// concurrent use.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ufs/s3/s3_client.h"
#include "ufs/ufs.h"

namespace alluvium::ufs::s3 {

class S3FileSystem final : public FileSystem {
 public:
  // Serves one bucket.
  S3FileSystem(std::string bucket, S3Options options);

  std::string_view scheme() const override { return "s3"; }

  // A key is a file (HEAD); else a prefix with keys below it is a directory; the bucket root is
  // a directory if the bucket exists. kNotFound otherwise (naming a missing bucket as such).
  Result<FileStatus> GetStatus(std::string_view uri) override;

  // ListObjectsV2, page by page (alluvium.underfs.s3.list.page.size keys per request): with
  // delimiter '/' for one level, without for a recursive walk, where the directories are made
  // up from the keys' prefixes. Memory holds one page.
  Result<std::unique_ptr<ListIterator>> List(std::string_view uri,
                                             const ListOptions& options) override;

  // Sends nothing yet: a missing key or changed ETag shows on the first read (one request per
  // small object, not two). Reads are ranged GETs with If-Match on the expected ETag;
  // sequential readers fetch alluvium.underfs.s3.read.block.size at a time.
  using FileSystem::Open;
  Result<std::unique_ptr<FileReader>> Open(std::string_view uri,
                                           const OpenOptions& options) override;

 private:
  // The key the URI names in this bucket ("" for the root). kInvalidArgument for another
  // scheme or bucket.
  Result<std::string> KeyOf(std::string_view uri) const;
  // kNotFound unless `prefix` ("dir/") has at least one key below it.
  Result<bool> HasKeysBelow(const std::string& prefix);

  const std::string bucket_;
  const std::shared_ptr<S3Client> client_;
};

}  // namespace alluvium::ufs::s3
