// The failed-file list of one load job: a text file, one failed path per line, that users feed
// back as an index file to retry just those. Created at the first failure (a job that loads
// everything leaves no file), as "<job path, sanitized>_<job id>.txt" under the configured
// directory, and appended to as failures come.
//
// Thread-safety: Append may be called from any thread. It has a mutex of its own, held across
// the write, so that the job records failures under its own lock and writes them after
// releasing it: a slow or full disk then holds up writers of this list, never the job's senders
// and progress readers.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"
#include "common/scoped_fd.h"
#include "common/status.h"

namespace alluvium::coordinator {

class FailedFileSink {
 public:
  // `dir` empty: the list is not kept (enabled() is false, Append does nothing).
  FailedFileSink(std::filesystem::path dir, std::string_view job_path, std::string_view job_id);

  bool enabled() const { return !path_.empty(); }
  // Where the list is (or will be) written.
  const std::filesystem::path& path() const { return path_; }

  // Appends one line per path; creates the directory and the file if need be. The lines are on
  // disk (in the page cache) when it returns. FromErrno's code when the file cannot be made or
  // written; a later call tries again.
  Status Append(const std::vector<std::string>& paths);

 private:
  const std::filesystem::path path_;
  Mutex mu_;
  ScopedFd fd_ GUARDED_BY(mu_);  // opened by the first Append
};

}  // namespace alluvium::coordinator
