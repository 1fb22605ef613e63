// A real small disk for tests: a tmpfs of a given size, mounted over a fresh temp dir or at a
// given path, and unmounted on destruction or by a fatal signal, so that an interrupted run leaves
// no mount behind. Needs root (CI runs as root); otherwise mounted() is false and skip_reason()
// says why. Not thread-safe: create and destroy it on one thread, as a test fixture does.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "testing/scoped_temp_dir.h"

namespace alluvium::testing {

class ScopedTmpfs {
 public:
  // On a fresh temp dir, or at `at` (created if missing). A mount at `at` also removes `at` and
  // its parent once empty on destruction: a LocalCluster's temp dir cannot be removed whole while
  // a mount sits in it.
  explicit ScopedTmpfs(uint64_t bytes, std::filesystem::path at = {});
  // Unmounts lazily, so even with files open: stop the processes using it first.
  ~ScopedTmpfs();
  ScopedTmpfs(const ScopedTmpfs&) = delete;
  ScopedTmpfs& operator=(const ScopedTmpfs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& skip_reason() const { return skip_reason_; }
  const std::filesystem::path& path() const { return at_.empty() ? dir_.path() : at_; }

  uint64_t FreeBytes() const;  // 0 if it cannot be read

  // Takes all the free space with a file "filler" of our own, as another program on the disk
  // would. Fails the test fatally if it cannot create the file.
  void Fill() const;
  void Unfill() const;  // removes the filler: the space is free again

 private:
  ScopedTempDir dir_;
  std::filesystem::path at_;
  bool mounted_ = false;
  int slot_ = -1;  // in the signal-time unmount list, -1 if not in it
  std::string skip_reason_;
};

}  // namespace alluvium::testing
