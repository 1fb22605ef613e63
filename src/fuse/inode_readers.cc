#include "fuse/inode_readers.h"

namespace alluvium::fuse {

Result<std::shared_ptr<FileReader>> InodeReaders::Get(uint64_t inode) {
  {
    std::lock_guard lock(mu_);
    if (auto it = readers_.find(inode); it != readers_.end()) {
      order_.splice(order_.begin(), order_, it->second.in_order);
      return it->second.reader;
    }
  }
  ALLUVIUM_ASSIGN_OR_RETURN(std::shared_ptr<FileReader> made, make_(inode));
  std::lock_guard lock(mu_);
  // Another read of the same inode may have made one meanwhile: one reader per inode.
  if (auto it = readers_.find(inode); it != readers_.end()) return it->second.reader;
  if (capacity_ == 0) return made;
  if (readers_.size() >= capacity_) {
    readers_.erase(order_.back());
    order_.pop_back();
  }
  order_.push_front(inode);
  readers_.emplace(inode, Slot{.reader = made, .in_order = order_.begin()});
  return made;
}

void InodeReaders::Drop(uint64_t inode) {
  std::lock_guard lock(mu_);
  auto it = readers_.find(inode);
  if (it == readers_.end()) return;
  order_.erase(it->second.in_order);
  readers_.erase(it);
}

void InodeReaders::Clear() {
  std::lock_guard lock(mu_);
  readers_.clear();
  order_.clear();
}

size_t InodeReaders::size() const {
  std::lock_guard lock(mu_);
  return readers_.size();
}

}  // namespace alluvium::fuse
