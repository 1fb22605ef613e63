// A fresh directory (under $TMPDIR or /tmp by default), removed with everything in it on
// destruction.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace alluvium::testing {

class ScopedTempDir {
 public:
  // Under `base` if given, else $TMPDIR, else /tmp.
  explicit ScopedTempDir(const std::filesystem::path& base = {}) {
    const char* tmpdir = std::getenv("TMPDIR");
    const std::string parent =
        !base.empty() ? base.string() : (tmpdir && *tmpdir ? tmpdir : "/tmp");
    std::string pattern = parent + "/alluvium-test-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~ScopedTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace alluvium::testing
