#include "cli/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "common/file_util.h"
#include "common/status_mapping.h"

namespace alluvium::cli {

std::string SelfExecutable() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("alluvium") : path.string();
}

Result<pid_t> SpawnDaemon(const std::vector<std::string>& argv,
                          const std::filesystem::path& log_path, bool die_with_parent) {
  if (argv.empty()) return InvalidArgument("empty command");
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return FromErrno(errno, "open " + log_path.string());

  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return FromErrno(errno, "fork");
  }
  if (pid == 0) {  // child: only async-signal-safe calls until exec
    ::setsid();
    if (die_with_parent) ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(log_fd);
  return pid;
}

bool IsAlive(pid_t pid) {
  if (pid <= 0) return false;
  int status = 0;
  const pid_t reaped = ::waitpid(pid, &status, WNOHANG);
  if (reaped == pid) return false;
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  // An exited process that is not our child stays a zombie until init reaps it: it is gone.
  auto stat = ReadWholeFile(fmt::format("/proc/{}/stat", pid));
  if (stat.ok()) {
    const size_t paren = stat->rfind(')');
    if (paren != std::string::npos && paren + 2 < stat->size() && (*stat)[paren + 2] == 'Z') {
      return false;
    }
  }
  return true;
}

Status Terminate(pid_t pid, std::chrono::milliseconds grace) {
  if (!IsAlive(pid)) return OkStatus();
  if (::kill(pid, SIGTERM) != 0 && errno != ESRCH) return FromErrno(errno, "kill");
  const auto until = std::chrono::steady_clock::now() + grace;
  while (IsAlive(pid) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (IsAlive(pid)) {
    ::kill(pid, SIGKILL);
    while (IsAlive(pid)) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return OkStatus();
}

}  // namespace alluvium::cli
