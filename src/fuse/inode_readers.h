// The readers of files the kernel reads without opening them (FUSE's no_open: with every file
// immutable, the kernel sends no open or release and reads carry no handle): one FileReader per
// inode, made at its first read, so sequential reads still read ahead. Without a release to free
// them, at most `capacity` are kept, least recently read first out; a reader dropped while a read
// uses it lives until that read ends. Safe for concurrent use; `make` runs without the lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "common/lru_map.h"
#include "common/mutex.h"
#include "common/status.h"
#include "fuse/file_reader.h"

namespace alluvium::fuse {

class InodeReaders {
 public:
  using Make = std::function<Result<std::shared_ptr<FileReader>>(uint64_t inode)>;

  InodeReaders(size_t capacity, Make make) : make_(std::move(make)), readers_(capacity) {}

  // The inode's reader, made on first use; its error if it cannot be made (nothing kept then).
  Result<std::shared_ptr<FileReader>> Get(uint64_t inode);
  // Forgets the inode's reader (the kernel forgot the inode).
  void Drop(uint64_t inode);
  // Forgets every reader (the files' statuses may have changed).
  void Clear();
  size_t size() const;

 private:
  const Make make_;
  mutable Mutex mu_;
  LruMap<uint64_t, std::shared_ptr<FileReader>> readers_ GUARDED_BY(mu_);
};

}  // namespace alluvium::fuse
