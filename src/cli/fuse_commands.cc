// `alluvium fuse mount|unmount|drop-caches`: the cache as a read-only POSIX file system
// (src/fuse/). A mount runs in the background by default: `fuse mount` starts itself again with
// --foreground as a daemon, logging to logs/fuse-<name>.log in the cluster's run dir with its PID
// in fuse/<name>.pid, and returns once the kernel shows the mount. `drop-caches` signals that
// PID (fuse/drop_caches.h).
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/cli.h"
#include "cli/process.h"
#include "client/client.h"
#include "common/file_util.h"
#include "common/status_mapping.h"
#include "fuse/drop_caches.h"
#include "fuse/fuse_adapter.h"
#include "fuse/handlers.h"
#include "fuse/mount_point.h"
#include "fuse/options.h"

extern char** environ;

namespace alluvium::cli {
namespace {

namespace fs = std::filesystem;

struct FuseArgs {
  std::string mountpoint;
  std::string path = "/";
  std::vector<std::string> options;  // -o
  bool foreground = false;
  bool lazy = false;  // unmount --lazy
  std::string run_dir;
  int wait_seconds = 30;
};

fs::path RunDir(const Config& config, const FuseArgs& args) {
  return args.run_dir.empty() ? fs::path(config.GetPath(keys::kClusterRunDir))
                              : fs::path(ExpandHome(args.run_dir));
}

// A file name for the mount point: "/mnt/data" -> "mnt_data".
std::string NameOf(const std::string& mountpoint) {
  std::string name = mountpoint;
  name.erase(0, name.find_first_not_of('/'));
  for (char& c : name) c = c == '/' ? '_' : c;
  return name.empty() ? "root" : name;
}

fs::path PidFile(const fs::path& run, const std::string& mountpoint) {
  return run / "fuse" / (NameOf(mountpoint) + ".pid");
}

fs::path LogFile(const fs::path& run, const std::string& mountpoint) {
  return run / "logs" / ("fuse-" + NameOf(mountpoint) + ".log");
}

Result<std::string> AbsoluteMountPoint(const std::string& mountpoint) {
  std::error_code ec;
  // Not canonical: resolving it would stat a dead mount (ENOTCONN).
  fs::path absolute = fs::absolute(mountpoint, ec).lexically_normal();
  if (ec) return FromErrno(ec.value(), "mount point " + mountpoint);
  std::string text = absolute.string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return text;
}

// The last `lines` lines of a log, to show why a daemon exited.
std::string LogTail(const fs::path& log, size_t lines) {
  auto text = ReadWholeFile(log);
  if (!text.ok()) return "";
  std::string_view t(*text);
  while (!t.empty() && t.back() == '\n') t.remove_suffix(1);
  size_t start = t.size();  // at the '\n' before the earliest line kept, or 0
  for (size_t n = 0; n < lines && start > 0; ++n) {
    const size_t newline = t.rfind('\n', start - 1);
    start = newline == std::string_view::npos ? 0 : newline;
  }
  return std::string(t.substr(start == 0 ? 0 : start + 1));
}

int MountForeground(const Config& config, const FuseArgs& args) {
  auto options = fuse::FuseOptions::Parse(args.path, args.options);
  if (!options.ok()) return Fail(options.status());
  auto mountpoint = AbsoluteMountPoint(args.mountpoint);
  if (!mountpoint.ok()) return Fail(mountpoint.status());
  if (Status st = fuse::CheckCanMount(*mountpoint); !st.ok()) return Fail(st);
  // Before the client starts gRPC's threads, so stop signals reach only FUSE's.
  fuse::FuseMount::BlockStopSignals();
  const Result<client::ClientOptions> client_options = client::ClientOptions::FromConfig(config);
  if (!client_options.ok()) return Fail(client_options.status());
  // No cache filter file: the rules are the default (everything immutable) and cannot change.
  options->no_open = !options->direct_io && client_options->cache_filter.file.empty();
  auto client = client::Client::Connect(*client_options);
  if (!client.ok()) {
    return Fail(client.status().WithContext("cannot reach the coordinator (is it running?)"));
  }
  fuse::Handlers handlers(**client, *options);
  auto mount = fuse::FuseMount::Mount(handlers, *mountpoint, *options);
  if (!mount.ok()) return Fail(mount.status());
  fmt::print("Mounted cache path {} at {} (pid {})\n", options->path, *mountpoint, getpid());
  std::fflush(stdout);
  Status st = (*mount)->Run();
  return st.ok() ? 0 : Fail(st);
}

int MountBackground(const Context& context, const Config& config, const FuseArgs& args) {
  auto options = fuse::FuseOptions::Parse(args.path, args.options);
  if (!options.ok()) return Fail(options.status());
  auto mountpoint = AbsoluteMountPoint(args.mountpoint);
  if (!mountpoint.ok()) return Fail(mountpoint.status());
  if (Status st = fuse::CheckCanMount(*mountpoint); !st.ok()) return Fail(st);
  const fs::path run = RunDir(config, args);
  std::error_code ec;
  for (const char* sub : {"fuse", "logs"}) {
    if (fs::create_directories(run / sub, ec); ec) {
      return Fail(FromErrno(ec.value(), "create " + (run / sub).string()));
    }
  }
  const fs::path log = LogFile(run, *mountpoint);
  const fs::path pid_file = PidFile(run, *mountpoint);

  std::vector<std::string> argv = context.SelfCommand();
  for (const std::string& a : {std::string("fuse"), std::string("mount"), *mountpoint,
                               std::string("--path"), options->path}) {
    argv.push_back(a);
  }
  for (const std::string& o : args.options) {
    argv.push_back("-o");
    argv.push_back(o);
  }
  argv.push_back("--foreground");
  auto pid = SpawnDaemon(argv, log);
  if (!pid.ok()) return Fail(pid.status());
  if (Status st = WriteFileAtomically(pid_file, fmt::format("{}\n", *pid)); !st.ok()) {
    (void)Terminate(*pid, std::chrono::seconds(10));
    return Fail(st);
  }

  // Mounted when the kernel lists it; failed when the daemon exits first.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(args.wait_seconds);
  while (true) {
    auto type = fuse::MountedType(*mountpoint);
    if (type.ok() && *type == fuse::kFuseFsType) break;
    if (!IsAlive(*pid)) {
      fs::remove(pid_file, ec);
      fmt::print(stderr, "alluvium: the FUSE daemon exited before mounting; {} ends with:\n{}\n",
                 log.string(), LogTail(log, 10));
      return 1;
    }
    if (std::chrono::steady_clock::now() >= until) {
      (void)Terminate(*pid, std::chrono::seconds(10));
      fs::remove(pid_file, ec);
      return Fail(DeadlineExceeded(fmt::format("{} was not mounted within {} s; the log is {}",
                                               *mountpoint, args.wait_seconds, log.string())));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  fmt::print("Mounted cache path {} at {} (pid {}, log {})\n", options->path, *mountpoint, *pid,
             log.string());
  return 0;
}

// Runs a program (found on PATH) and returns its exit code.
Result<int> RunProgram(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  if (const int err = posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ);
      err != 0) {
    return FromErrno(err, "run " + argv[0]);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return FromErrno(errno, "wait for " + argv[0]);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Status UnmountKernel(const std::string& mountpoint, bool lazy) {
  if (geteuid() == 0) {
    if (::umount2(mountpoint.c_str(), lazy ? MNT_DETACH : 0) == 0) return OkStatus();
    if (errno == EBUSY) {
      return FailedPrecondition(fmt::format(
          "{} is busy: a process has a file open or its working directory under it; end it, or "
          "unmount with --lazy to detach now and finish when it lets go",
          mountpoint));
    }
    return FromErrno(errno, "umount " + mountpoint);
  }
  std::vector<std::string> argv = {"fusermount3", "-u"};
  if (lazy) argv.push_back("-z");
  argv.push_back(mountpoint);
  ALLUVIUM_ASSIGN_OR_RETURN(int code, RunProgram(argv));
  if (code != 0) {
    return FailedPrecondition(
        fmt::format("fusermount3 -u {} failed (exit {}; its message is above)", mountpoint, code));
  }
  return OkStatus();
}

int Unmount(const Config& config, const FuseArgs& args) {
  auto mountpoint = AbsoluteMountPoint(args.mountpoint);
  if (!mountpoint.ok()) return Fail(mountpoint.status());
  auto type = fuse::MountedType(*mountpoint);
  if (!type.ok()) return Fail(type.status());
  if (!*type) return Fail(NotFound(fmt::format("nothing is mounted at {}", *mountpoint)));
  if (**type != fuse::kFuseFsType) {
    return Fail(
        InvalidArgument(fmt::format("{} is a {} mount, not an alluvium one", *mountpoint, **type)));
  }
  if (Status st = UnmountKernel(*mountpoint, args.lazy); !st.ok()) return Fail(st);

  // The daemon's loop ends with the mount; wait for it (a dead one has nothing to wait for).
  const fs::path pid_file = PidFile(RunDir(config, args), *mountpoint);
  if (auto text = ReadWholeFile(pid_file); text.ok()) {
    const pid_t pid = static_cast<pid_t>(std::atol(text->c_str()));
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (IsAlive(pid) && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (Status st = Terminate(pid, std::chrono::seconds(5)); !st.ok()) return Fail(st);
    std::error_code ec;
    fs::remove(pid_file, ec);
  }
  fmt::print("Unmounted {}\n", *mountpoint);
  return 0;
}

// True if `pid` runs `fuse mount <mountpoint> ... --foreground`: a PID file outlives a daemon
// killed with SIGKILL, and its number may since name another program, which SIGUSR1 would end.
bool IsDaemonOf(pid_t pid, const std::string& mountpoint) {
  auto cmdline = ReadWholeFile(fmt::format("/proc/{}/cmdline", pid));
  if (!cmdline.ok()) return false;
  bool mount = false, foreground = false;
  std::string_view rest(*cmdline);
  while (!rest.empty()) {
    const std::string_view arg = rest.substr(0, rest.find('\0'));
    rest.remove_prefix(std::min(rest.size(), arg.size() + 1));
    mount = mount || arg == mountpoint;
    foreground = foreground || arg == "--foreground";
  }
  return mount && foreground;
}

int DropCaches(const Config& config, const FuseArgs& args) {
  auto mountpoint = AbsoluteMountPoint(args.mountpoint);
  if (!mountpoint.ok()) return Fail(mountpoint.status());
  auto type = fuse::MountedType(*mountpoint);
  if (!type.ok()) return Fail(type.status());
  if (*type != fuse::kFuseFsType) {
    return Fail(FailedPrecondition(fmt::format("no alluvium FUSE mount at {}", *mountpoint)));
  }
  const fs::path pid_file = PidFile(RunDir(config, args), *mountpoint);
  auto text = ReadWholeFile(pid_file);
  if (!text.ok()) {
    return Fail(NotFound(
        fmt::format("no FUSE daemon's PID file {} (a --foreground mount: send SIGUSR1 to its PID)",
                    pid_file.string())));
  }
  const pid_t pid = static_cast<pid_t>(std::atol(text->c_str()));
  if (!IsDaemonOf(pid, *mountpoint)) {
    return Fail(FailedPrecondition(fmt::format(
        "process {} (from {}) is not the daemon of {}: it has died; `alluvium fuse unmount {}` "
        "cleans up",
        pid, pid_file.string(), *mountpoint, *mountpoint)));
  }
  if (Status st = fuse::RequestDropCaches(pid, std::chrono::seconds(args.wait_seconds)); !st.ok()) {
    return Fail(st.WithContext("drop the caches of " + *mountpoint));
  }
  fmt::print("Dropped the metadata caches of {}\n", *mountpoint);
  return 0;
}

}  // namespace

void AddFuseCommands(CLI::App& app, Context& context) {
  CLI::App* group = app.add_subcommand("fuse", "The cache as a read-only POSIX file system (FUSE)")
                        ->require_subcommand(1);
  auto args = std::make_shared<FuseArgs>();
  auto add = [&](const char* name, const char* help, auto run) {
    CLI::App* cmd = group->add_subcommand(name, help);
    cmd->add_option("mountpoint", args->mountpoint, "Local directory to mount on")->required();
    cmd->add_option("--run-dir", args->run_dir, "Where the daemon's PID file and log live");
    RunWithConfig(cmd, context, [&context, args, run](const Config& config) {
      return run(context, config, *args);
    });
    return cmd;
  };
  CLI::App* mount =
      add("mount", "Mount the cache namespace (read-only) on a local directory",
          [](const Context& c, const Config& conf, const FuseArgs& a) {
            return a.foreground ? MountForeground(conf, a) : MountBackground(c, conf, a);
          });
  mount->add_option("--path", args->path, "Cache path shown at the mount's root")->default_val("/");
  mount->add_option("-o", args->options,
                    "Mount option (repeatable, comma-separated): attr_timeout=S, "
                    "entry_timeout=S, direct_io, read_ahead_parts=N (of 4 MiB; 0: off), or a "
                    "libfuse option such as allow_other");
  mount->add_flag("--foreground", args->foreground, "Serve from this process until unmounted");
  mount->add_option("--wait", args->wait_seconds, "Seconds to wait for the background mount");
  add("unmount", "Unmount an alluvium FUSE mount and stop its daemon",
      [](const Context&, const Config& conf, const FuseArgs& a) { return Unmount(conf, a); })
      ->add_flag("--lazy", args->lazy, "Detach now even if busy; finish when nothing uses it");
  add("drop-caches",
      "Make a mount forget the listings, statuses and attributes it and the kernel cache, so "
      "it shows the UFS as it is now",
      [](const Context&, const Config& conf, const FuseArgs& a) { return DropCaches(conf, a); })
      ->add_option("--wait", args->wait_seconds, "Seconds to wait for the daemon to answer");
}

}  // namespace alluvium::cli
