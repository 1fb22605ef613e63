#include "fuse/inode_table.h"

#include <fmt/format.h>

#include "common/paths.h"

namespace alluvium::fuse {

InodeTable::InodeTable(std::string root_path) : root_path_(std::move(root_path)) {
  nodes_[kRootInode] = {.path = root_path_, .lookups = 1};
  by_path_[root_path_] = kRootInode;
}

uint64_t InodeTable::Remember(const std::string& path) {
  MutexLock lock(mu_);
  auto [it, added] = by_path_.try_emplace(path, 0);
  if (added) {
    it->second = next_inode_++;
    nodes_[it->second] = {.path = path};
  }
  ++nodes_[it->second].lookups;
  return it->second;
}

bool InodeTable::Forget(uint64_t inode, uint64_t nlookup) {
  if (inode == kRootInode) return false;
  MutexLock lock(mu_);
  auto it = nodes_.find(inode);
  if (it == nodes_.end()) return false;
  Node& node = it->second;
  node.lookups -= std::min(nlookup, node.lookups);
  if (node.lookups > 0) return false;
  by_path_.erase(node.path);
  nodes_.erase(it);
  return true;
}

std::optional<std::string> InodeTable::PathOf(uint64_t inode) const {
  MutexLock lock(mu_);
  auto it = nodes_.find(inode);
  if (it == nodes_.end()) return std::nullopt;
  return it->second.path;
}

Result<std::string> InodeTable::ChildPath(uint64_t parent, std::string_view name) const {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    return InvalidArgument(fmt::format("'{}' is not a file name", name));
  }
  std::optional<std::string> dir = PathOf(parent);
  if (!dir) return NotFound(fmt::format("inode {} is not known", parent));
  return JoinPath(*dir, name);
}

std::vector<std::pair<uint64_t, std::string>> InodeTable::Live() const {
  MutexLock lock(mu_);
  std::vector<std::pair<uint64_t, std::string>> live;
  live.reserve(nodes_.size());
  for (const auto& [inode, node] : nodes_) live.emplace_back(inode, node.path);
  return live;
}

std::optional<uint64_t> InodeTable::InodeOf(const std::string& path) const {
  MutexLock lock(mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return std::nullopt;
  return it->second;
}

size_t InodeTable::size() const {
  MutexLock lock(mu_);
  return nodes_.size();
}

}  // namespace alluvium::fuse
