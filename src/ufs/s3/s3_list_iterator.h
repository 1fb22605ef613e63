// Walks the keys below a prefix with ListObjectsV2, one page in memory at a time, in the order
// ufs.h promises (S3's own key order, where a directory "d" sorts as "d/"). A one-level listing
// merges each page's keys and common prefixes; a recursive one makes up a directory entry the
// first time a key below it appears.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "ufs/s3/s3_client.h"
#include "ufs/ufs.h"

namespace alluvium::ufs::s3 {

class S3ListIterator final : public ListIterator {
 public:
  // `prefix`: "" for the bucket root, else "dir/". Entries whose sort key is not above
  // `start_key` ("" for all; a file's key, or a directory's key with its '/') are skipped.
  S3ListIterator(std::shared_ptr<S3Client> client, std::string bucket, std::string prefix,
                 bool recursive, std::string start_key);

  // Fetches the first page, so that a missing bucket fails at List() rather than later.
  // Returns whether the prefix holds any key at all (a marker object "dir/" counts).
  Result<bool> FetchFirstPage();

  Result<std::optional<FileStatus>> Next() override;

 private:
  Status FetchPage();
  void AddObject(const ObjectEntry& object);
  void AddDirectory(const std::string& key);  // key ends with '/'
  void Emit(FileStatus status, const std::string& sort_key);

  const std::shared_ptr<S3Client> client_;
  const std::string bucket_;
  const std::string prefix_;
  const bool recursive_;
  const std::string start_key_;
  std::string continuation_token_;
  bool last_page_ = false;
  bool saw_key_ = false;
  int pages_fetched_ = 0;
  // Pages grow tenfold from this size up to the configured one (10, 100, 1000).
  static constexpr int kFirstPageSize = 10;
  std::deque<FileStatus> ready_;  // entries of the current page, in order
  // Recursive walks: the directories (keys with '/') containing the last key, outermost first;
  // each was emitted once already.
  std::vector<std::string> open_dirs_;
};

}  // namespace alluvium::ufs::s3
