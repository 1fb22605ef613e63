#include "fuse/inode_readers.h"

namespace alluvium::fuse {

Result<std::shared_ptr<FileReader>> InodeReaders::Get(uint64_t inode) {
  {
    MutexLock lock(mu_);
    if (std::shared_ptr<FileReader>* found = readers_.Find(inode)) return *found;
  }
  ALLUVIUM_ASSIGN_OR_RETURN(std::shared_ptr<FileReader> made, make_(inode));
  MutexLock lock(mu_);
  // Another read of the same inode may have made one meanwhile: one reader per inode.
  if (std::shared_ptr<FileReader>* found = readers_.Find(inode)) return *found;
  readers_.Put(inode, made);
  return made;
}

void InodeReaders::Drop(uint64_t inode) {
  MutexLock lock(mu_);
  readers_.Erase(inode);
}

void InodeReaders::Clear() {
  MutexLock lock(mu_);
  readers_.Clear();
}

size_t InodeReaders::size() const {
  MutexLock lock(mu_);
  return readers_.size();
}

}  // namespace alluvium::fuse
