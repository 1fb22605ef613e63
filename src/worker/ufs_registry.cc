#include "worker/ufs_registry.h"

#include "common/logging.h"

namespace alluvium::worker {

UfsRegistry::UfsRegistry(UfsOptionsSource source, std::chrono::milliseconds refresh)
    : source_(std::move(source)), refresh_(refresh) {}

Result<std::shared_ptr<ufs::FileSystem>> UfsRegistry::For(std::string_view uri) {
  ALLUVIUM_ASSIGN_OR_RETURN(ufs::Uri parsed, ufs::Uri::Parse(uri));
  const std::string root = parsed.Root();
  const auto now = std::chrono::steady_clock::now();
  std::shared_ptr<ufs::FileSystem> current;
  {
    MutexLock lock(mu_);
    if (auto it = by_root_.find(root); it != by_root_.end()) {
      if (it->second.installed || now - it->second.checked < refresh_) return it->second.fs;
      current = it->second.fs;
    }
  }

  // Settings and opening may block on the network: done without the lock. Two threads may
  // race to open the same root; the later one's file system simply replaces the earlier.
  ufs::UfsOptions options;
  if (source_) {
    Result<ufs::UfsOptions> fetched = source_(root);
    if (!fetched.ok()) {
      if (current == nullptr) return fetched.status();
      ALLUVIUM_LOG(WARN, "keeping the settings of {}: {}", root, fetched.status());
      MutexLock lock(mu_);
      by_root_[root].checked = now;
      return current;
    }
    options = std::move(*fetched);
  }
  {
    MutexLock lock(mu_);
    auto it = by_root_.find(root);
    if (it != by_root_.end() &&
        (it->second.installed || it->second.properties == options.properties)) {
      it->second.checked = now;
      return it->second.fs;
    }
  }
  ALLUVIUM_ASSIGN_OR_RETURN(std::unique_ptr<ufs::FileSystem> opened,
                            ufs::OpenFileSystem(parsed, options));
  std::shared_ptr<ufs::FileSystem> fs = std::move(opened);
  MutexLock lock(mu_);
  Entry& entry = by_root_[root];
  if (entry.installed) return entry.fs;
  if (current != nullptr) ALLUVIUM_LOG(INFO, "settings of {} changed: reopened it", root);
  entry = Entry{.fs = fs, .properties = std::move(options.properties), .checked = now};
  return fs;
}

void UfsRegistry::Install(std::string root, std::shared_ptr<ufs::FileSystem> fs) {
  MutexLock lock(mu_);
  by_root_.insert_or_assign(std::move(root), Entry{.fs = std::move(fs), .installed = true});
}

}  // namespace alluvium::worker
