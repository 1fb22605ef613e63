#include "ufs/s3/s3_list_iterator.h"

#include <algorithm>

namespace alluvium::ufs::s3 {
namespace {

FileStatus DirectoryStatus(std::string_view bucket, std::string_view key_with_slash) {
  FileStatus status;
  status.uri = ObjectUri(bucket, key_with_slash.substr(0, key_with_slash.size() - 1));
  status.is_directory = true;
  return status;
}

}  // namespace

S3ListIterator::S3ListIterator(std::shared_ptr<S3Client> client, std::string bucket,
                               std::string prefix, bool recursive, std::string start_key)
    : client_(std::move(client)),
      bucket_(std::move(bucket)),
      prefix_(std::move(prefix)),
      recursive_(recursive),
      start_key_(std::move(start_key)) {}

Result<bool> S3ListIterator::FetchFirstPage() {
  ALLUVIUM_RETURN_IF_ERROR(FetchPage());
  return saw_key_;
}

Status S3ListIterator::FetchPage() {
  // The first pages are small so that their keys arrive (and their loads start) sooner: a page
  // costs the server time per key (s3rver: 100 keys took 100 ms, with nothing loading until
  // they came), and a big listing is mostly later pages anyway.
  const int page_size = client_->options().list_page_size;
  int max_keys = kFirstPageSize;
  for (int i = 0; i < pages_fetched_ && max_keys < page_size; ++i) max_keys *= 10;
  ListRequest request{.prefix = prefix_,
                      .delimiter = recursive_ ? "" : "/",
                      .continuation_token = continuation_token_,
                      .max_keys = std::min(page_size, max_keys)};
  // Keys between a directory "d" and "d/" ("d-1", "d.txt") sort before the directory, so S3 is
  // asked to start after the bare key and the finer cut is made in Emit.
  if (continuation_token_.empty() && !start_key_.empty()) {
    request.start_after =
        start_key_.ends_with('/') ? start_key_.substr(0, start_key_.size() - 1) : start_key_;
  }
  ALLUVIUM_ASSIGN_OR_RETURN(ListPage page, client_->ListObjectsV2(bucket_, request));
  ++pages_fetched_;
  saw_key_ = saw_key_ || !page.objects.empty() || !page.common_prefixes.empty();
  last_page_ = !page.truncated;
  continuation_token_ = std::move(page.next_continuation_token);

  // Both lists are in key order; merged, they are in the listing's order.
  auto object = page.objects.begin();
  auto dir = page.common_prefixes.begin();
  while (object != page.objects.end() || dir != page.common_prefixes.end()) {
    if (dir == page.common_prefixes.end() || (object != page.objects.end() && object->key < *dir)) {
      AddObject(*object++);
    } else {
      AddDirectory(*dir++);
    }
  }
  return OkStatus();
}

void S3ListIterator::AddObject(const ObjectEntry& object) {
  if (object.key.size() <= prefix_.size()) return;  // the marker of the listed directory itself
  if (recursive_) {
    // Open the directories on the way to this key that are not open yet.
    while (!open_dirs_.empty() && !object.key.starts_with(open_dirs_.back())) open_dirs_.pop_back();
    size_t from = open_dirs_.empty() ? prefix_.size() : open_dirs_.back().size();
    for (size_t slash = object.key.find('/', from); slash != std::string::npos;
         slash = object.key.find('/', slash + 1)) {
      AddDirectory(object.key.substr(0, slash + 1));
    }
  }
  if (object.key.ends_with('/')) return;  // a directory marker: the directory is out already
  FileStatus status;
  status.uri = ObjectUri(bucket_, object.key);
  status.length = object.size;
  status.mtime_ms = object.last_modified_ms;
  status.version = object.etag;
  Emit(std::move(status), object.key);
}

void S3ListIterator::AddDirectory(const std::string& key) {
  if (recursive_) {
    if (!open_dirs_.empty() && open_dirs_.back() == key) return;
    open_dirs_.push_back(key);
  }
  Emit(DirectoryStatus(bucket_, key), key);
}

void S3ListIterator::Emit(FileStatus status, const std::string& sort_key) {
  if (sort_key > start_key_) ready_.push_back(std::move(status));
}

Result<std::optional<FileStatus>> S3ListIterator::Next() {
  while (ready_.empty()) {
    if (last_page_) return std::optional<FileStatus>();
    ALLUVIUM_RETURN_IF_ERROR(FetchPage());
  }
  FileStatus next = std::move(ready_.front());
  ready_.pop_front();
  return std::optional<FileStatus>(std::move(next));
}

}  // namespace alluvium::ufs::s3
