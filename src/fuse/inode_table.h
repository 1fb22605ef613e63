// FUSE inode numbers <-> cache paths. The kernel names files by inode number and counts how many
// times each was handed out (lookup, readdirplus, create); an inode lives until the kernel forgets
// it as many times, so the table holds exactly the inodes the kernel may still ask about and its
// memory follows the kernel's dentry cache, not the number of files ever read.
// Pure (no I/O); safe for concurrent use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"

namespace alluvium::fuse {

class InodeTable {
 public:
  // FUSE_ROOT_ID, without including fuse_lowlevel.h here.
  static constexpr uint64_t kRootInode = 1;

  // The root inode stands for `root_path` (a normalised cache path) and is never forgotten.
  explicit InodeTable(std::string root_path);

  // The inode of `path`, allocated if the kernel does not know it yet, with its lookup count
  // raised by one: call once per entry the kernel is given.
  uint64_t Remember(const std::string& path);
  // Drops `nlookup` of the inode's lookups; at zero the inode is gone and the path would get a
  // new number. Unknown inodes and the root are ignored (the kernel forgets the root at unmount).
  // Returns whether this call made the inode gone.
  bool Forget(uint64_t inode, uint64_t nlookup);

  // The cache path of a live inode; nullopt for one never given out or already forgotten.
  std::optional<std::string> PathOf(uint64_t inode) const;
  // The path of entry `name` of the directory `parent`: kNotFound for an unknown parent,
  // kInvalidArgument for a name that is not one component ("", ".", "..", holding '/').
  Result<std::string> ChildPath(uint64_t parent, std::string_view name) const;

  // Every live inode and its path, the root included, to tell the kernel to forget what it
  // caches of them.
  std::vector<std::pair<uint64_t, std::string>> Live() const;
  // The inode of a path the kernel knows, or nullopt.
  std::optional<uint64_t> InodeOf(const std::string& path) const;

  size_t size() const;  // live inodes, the root included
  const std::string& root_path() const { return root_path_; }

 private:
  struct Node {
    std::string path;
    uint64_t lookups = 0;
  };

  const std::string root_path_;
  mutable Mutex mu_;
  std::unordered_map<uint64_t, Node> nodes_ GUARDED_BY(mu_);
  std::unordered_map<std::string, uint64_t> by_path_ GUARDED_BY(mu_);
  uint64_t next_inode_ GUARDED_BY(mu_) = kRootInode + 1;  // never reused
};

}  // namespace alluvium::fuse
