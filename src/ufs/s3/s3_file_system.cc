#include "ufs/s3/s3_file_system.h"

#include "ufs/s3/s3_file_reader.h"
#include "ufs/s3/s3_list_iterator.h"

namespace alluvium::ufs::s3 {

S3FileSystem::S3FileSystem(std::string bucket, S3Options options)
    : bucket_(std::move(bucket)), client_(std::make_shared<S3Client>(std::move(options))) {}

Result<std::string> S3FileSystem::KeyOf(std::string_view uri) const {
  ALLUVIUM_ASSIGN_OR_RETURN(Uri parsed, Uri::Parse(uri));
  if (parsed.scheme != "s3" || parsed.authority != bucket_) {
    return InvalidArgument(fmt::format("'{}' is not in s3://{}/", uri, bucket_));
  }
  return parsed.path.substr(1);  // "/a/b" -> "a/b"; "/" -> ""
}

Result<bool> S3FileSystem::HasKeysBelow(const std::string& prefix) {
  ALLUVIUM_ASSIGN_OR_RETURN(
      ListPage page,
      client_->ListObjectsV2(bucket_, {.prefix = prefix, .delimiter = "/", .max_keys = 1}));
  return !page.objects.empty() || !page.common_prefixes.empty();
}

Result<FileStatus> S3FileSystem::GetStatus(std::string_view uri) {
  ALLUVIUM_ASSIGN_OR_RETURN(std::string key, KeyOf(uri));
  FileStatus status;
  if (key.empty()) {
    // Also the check that the bucket exists: kNotFound names NoSuchBucket.
    ALLUVIUM_RETURN_IF_ERROR(HasKeysBelow("").status());
    status.uri = ObjectUri(bucket_, "");
    status.is_directory = true;
    return status;
  }
  Result<ObjectInfo> object = client_->HeadObject(bucket_, key);
  if (object.ok()) {
    status.uri = ObjectUri(bucket_, key);
    status.length = object->size;
    status.mtime_ms = object->last_modified_ms;
    status.version = object->etag;
    return status;
  }
  if (object.status().code() != Code::kNotFound) return object.status();
  ALLUVIUM_ASSIGN_OR_RETURN(bool directory, HasKeysBelow(key + "/"));
  if (!directory)
    return NotFound(fmt::format("{}: no such object or prefix", ObjectUri(bucket_, key)));
  status.uri = ObjectUri(bucket_, key);
  status.is_directory = true;
  return status;
}

Result<std::unique_ptr<ListIterator>> S3FileSystem::List(std::string_view uri,
                                                         const ListOptions& options) {
  ALLUVIUM_ASSIGN_OR_RETURN(std::string key, KeyOf(uri));
  const std::string prefix = key.empty() ? "" : key + "/";

  // A resume point that is a directory continues with its entries ("d/..."); one that is a file
  // (or is gone) continues right after its key. Only a stat tells the two apart.
  std::string start_key;
  if (!options.start_after.empty()) {
    ALLUVIUM_ASSIGN_OR_RETURN(start_key, KeyOf(options.start_after));
    if (!start_key.empty()) {
      Result<FileStatus> start = GetStatus(options.start_after);
      if (start.ok() && start->is_directory) start_key += '/';
      if (!start.ok() && start.status().code() != Code::kNotFound) return start.status();
    }
  }

  auto iterator =
      std::make_unique<S3ListIterator>(client_, bucket_, prefix, options.recursive, start_key);
  ALLUVIUM_ASSIGN_OR_RETURN(bool has_keys, iterator->FetchFirstPage());
  if (!has_keys && !key.empty() && start_key.empty()) {
    // Nothing below: a file, or nothing at all.
    ALLUVIUM_ASSIGN_OR_RETURN(FileStatus status, GetStatus(uri));
    if (!status.is_directory) {
      return FailedPrecondition(fmt::format("list {}: not a directory", status.uri));
    }
  }
  return std::unique_ptr<ListIterator>(std::move(iterator));
}

Result<std::unique_ptr<FileReader>> S3FileSystem::Open(std::string_view uri,
                                                       const OpenOptions& options) {
  ALLUVIUM_ASSIGN_OR_RETURN(std::string key, KeyOf(uri));
  if (key.empty()) return InvalidArgument(fmt::format("open {}: is a bucket", uri));
  return std::unique_ptr<FileReader>(
      std::make_unique<S3FileReader>(client_, bucket_, std::move(key), options));
}

}  // namespace alluvium::ufs::s3
