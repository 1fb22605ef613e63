#include "coordinator/scheduler/failed_file_list.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>

#include "common/status_mapping.h"

namespace alluvium::coordinator {
namespace {

// A job path ("/data/train", "s3://b/x") as a file name: the characters a shell needs no
// quoting for, cut to keep the name within NAME_MAX with the job id appended.
std::string Sanitize(std::string_view text) {
  std::string out;
  for (char c : text)
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
  return out.substr(0, 120);
}

std::filesystem::path ListPath(const std::filesystem::path& dir, std::string_view job_path,
                               std::string_view job_id) {
  if (dir.empty()) return {};
  return dir / fmt::format("{}_{}.txt", Sanitize(job_path), job_id);
}

}  // namespace

FailedFileSink::FailedFileSink(std::filesystem::path dir, std::string_view job_path,
                               std::string_view job_id)
    : path_(ListPath(dir, job_path, job_id)) {}

Status FailedFileSink::Append(const std::vector<std::string>& paths) {
  if (!enabled() || paths.empty()) return OkStatus();
  std::string text;
  for (const std::string& p : paths) text += p + '\n';
  MutexLock lock(mu_);
  if (!fd_.valid()) {
    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
    if (ec) return FromErrno(ec.value(), "creating " + path_.parent_path().string());
    fd_ = ScopedFd(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
    if (!fd_.valid()) return FromErrno(errno, "opening " + path_.string());
  }
  std::string_view rest = text;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd_.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FromErrno(errno, "writing " + path_.string());
    rest.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

}  // namespace alluvium::coordinator
