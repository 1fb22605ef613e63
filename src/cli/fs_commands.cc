// `alluvium fs …`: file operations through the cache (ls, stat, cat, head, tail, cp), where a
// file's data is cached (location), and the mount table (mount, unmount, mounts).
#include <cstdio>
#include <ctime>
#include <fstream>
#include <limits>
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/cli.h"
#include "client/client.h"
#include "common/secrets.h"
#include "common/status_mapping.h"
#include "common/units.h"

namespace alluvium::cli {
namespace {

struct FsArgs {
  std::string path;
  std::string second;  // local destination (cp) or UFS URI (mount)
  bool recursive = false;
  std::string bytes = "1KB";         // head / tail
  std::vector<std::string> options;  // mount --option k=v
  int replicas = 1;                  // location: owners shown per segment
};

// Runs `body` with a connected client; errors print and give exit code 1.
template <typename Body>
int WithClient(const Context& context, Body&& body) {
  auto config = context.LoadConfig();
  if (!config.ok()) return Fail(config.status());
  auto client = client::Client::Connect(*config);
  if (!client.ok()) {
    return Fail(
        client.status().WithContext("cannot reach the coordinator (is it running? "
                                    "`alluvium cluster start` starts a local one)"));
  }
  Status st = body(**client);
  // Flushed before the client's teardown too (Run flushes every command's output), so no
  // output waits on it.
  if (st.ok() && std::fflush(stdout) != 0) st = FromErrno(errno, "write to standard output");
  return st.ok() ? 0 : Fail(st);
}

std::string FormatTime(int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &tm);
  return buffer;
}

Status WriteStdout(std::span<const std::byte> data) {
  if (std::fwrite(data.data(), 1, data.size(), stdout) != data.size()) {
    return FromErrno(errno, "write to standard output");
  }
  return OkStatus();
}

Status Ls(client::Client& client, const FsArgs& args) {
  auto status = client.GetStatus(args.path);
  if (!status.ok()) return status.status();
  auto print = [](const client::FileInfo& f) {
    fmt::print("{} {:>14} {}  {}\n", f.is_directory ? 'd' : '-', f.length, FormatTime(f.mtime_ms),
               f.path);
    return OkStatus();
  };
  if (!status->is_directory) return print(*status);
  return client.List(args.path, args.recursive, print);
}

Status Stat(client::Client& client, const FsArgs& args) {
  auto f = client.GetStatus(args.path);
  if (!f.ok()) return f.status();
  fmt::print("path: {}\nufs uri: {}\ntype: {}\nlength: {} ({})\nmodified: {}\nversion: {}\n",
             f->path, f->uri, f->is_directory ? "directory" : "file", f->length,
             FormatSize(f->length), FormatTime(f->mtime_ms), f->version);
  return OkStatus();
}

Status Head(client::Client& client, const FsArgs& args, bool tail) {
  auto bytes = ParseSize(args.bytes);
  if (!bytes.ok()) return bytes.status();
  uint64_t offset = 0;
  if (tail) {
    auto f = client.GetStatus(args.path);
    if (!f.ok()) return f.status();
    offset = f->length > *bytes ? f->length - *bytes : 0;
  }
  return client.Read(args.path, offset, *bytes, WriteStdout).status();
}

Status Copy(client::Client& client, const FsArgs& args) {
  if (args.second.empty()) return InvalidArgument("the local destination is empty");
  const std::string temp = args.second + ".alluvium-part";
  std::ofstream out(temp, std::ios::binary | std::ios::trunc);
  if (!out) return FromErrno(errno, "open " + temp);
  auto stats = client.Read(args.path, 0, std::numeric_limits<uint64_t>::max(),
                           [&](std::span<const std::byte> data) -> Status {
                             out.write(reinterpret_cast<const char*>(data.data()),
                                       static_cast<std::streamsize>(data.size()));
                             return out ? OkStatus() : FromErrno(errno, "write " + temp);
                           });
  out.close();
  if (!stats.ok() || !out) {
    std::remove(temp.c_str());
    return stats.ok() ? FromErrno(errno, "close " + temp) : stats.status();
  }
  if (std::rename(temp.c_str(), args.second.c_str()) != 0) {
    const int err = errno;
    std::remove(temp.c_str());
    return FromErrno(err, "rename to " + args.second);
  }
  fmt::print(
      "Copied {} to {}: {} bytes ({} from cache, {} of them short-circuit; {} from UFS, {} worker "
      "failovers)\n",
      args.path, args.second, stats->bytes, stats->bytes_from_cache, stats->bytes_short_circuit,
      stats->bytes_from_ufs, stats->worker_failovers);
  return OkStatus();
}

Status Mount(client::Client& client, const FsArgs& args) {
  std::map<std::string, std::string> options;
  for (const std::string& option : args.options) {
    const size_t eq = option.find('=');
    if (eq == std::string::npos) {
      return InvalidArgument("--option takes key=value: " + MaskedValue(option, option));
    }
    options[option.substr(0, eq)] = option.substr(eq + 1);
  }
  ALLUVIUM_RETURN_IF_ERROR(client.Mount(args.path, args.second, options));
  fmt::print("Mounted {} at {}\n", args.second, args.path);
  return OkStatus();
}

Status Mounts(client::Client& client) {
  auto mounts = client.ListMounts();
  if (!mounts.ok()) return mounts.status();
  // "/s3  s3://bucket  (s3a.accessKeyId=AKIA..., s3a.secretKey=******)": which options are
  // set; the coordinator sends secrets masked, and FormatMasked masks them again regardless.
  for (const client::MountInfo& m : *mounts) {
    if (m.options.empty()) {
      fmt::print("{}  {}\n", m.path, m.ufs_uri);
    } else {
      fmt::print("{}  {}  ({})\n", m.path, m.ufs_uri, FormatMasked(m.options));
    }
  }
  return OkStatus();
}

// Per segment, the ring's owners and anyone else holding some of it, with how much each holds.
Status Location(client::Client& client, const FsArgs& args) {
  if (args.replicas < 1) return InvalidArgument("--replicas must be at least 1");
  ALLUVIUM_ASSIGN_OR_RETURN(client::FileInfo info, client.GetStatus(args.path));
  ALLUVIUM_ASSIGN_OR_RETURN(std::vector<client::SegmentLocation> segments,
                            client.Locate(args.path, static_cast<size_t>(args.replicas)));
  uint64_t owned = 0, copies = 0;
  fmt::print("{}  {} bytes  version {}  {} segments\n", info.path, info.length, info.version,
             segments.size());
  for (const client::SegmentLocation& segment : segments) {
    fmt::print("segment {}  [{}, {})\n", segment.index, segment.offset,
               segment.offset + segment.length);
    for (const client::SegmentLocation::Holder& h : segment.holders) {
      const std::string role = h.owner_rank == 0  ? "owner"
                               : h.owner_rank > 0 ? fmt::format("replica {}", h.owner_rank)
                                                  : "not an owner";
      fmt::print("  {:<12} {} ({})  {} of {} cached{}\n", role, h.worker_id, h.address,
                 FormatSize(h.cached_bytes), FormatSize(segment.length),
                 h.cached_bytes == segment.length ? ""
                 : h.cached_bytes == 0            ? "  (not cached)"
                                                  : "  (partly)");
      if (h.owner_rank >= 0) {
        owned += h.cached_bytes;
        copies += segment.length;
      }
    }
  }
  fmt::print(
      "cached on its owners: {} of {} ({:.1f}%)\n", FormatSize(owned), FormatSize(copies),
      copies == 0 ? 100.0 : 100.0 * static_cast<double>(owned) / static_cast<double>(copies));
  return OkStatus();
}

}  // namespace

void AddFsCommands(CLI::App& app, Context& context) {
  CLI::App* fs =
      app.add_subcommand("fs", "File operations through the cache")->require_subcommand(1);
  auto args = std::make_shared<FsArgs>();
  auto add = [&](const char* name, const char* help, auto run) {
    CLI::App* cmd = fs->add_subcommand(name, help);
    cmd->callback([&context, args, run] {
      context.action = [&context, args, run] {
        return WithClient(context, [&](client::Client& client) { return run(client, *args); });
      };
    });
    return cmd;
  };

  add("ls", "List a directory (or show a file)", Ls)
      ->add_flag("-R,--recursive", args->recursive, "List recursively");
  fs->get_subcommand("ls")
      ->add_option("path", args->path, "Cache path or UFS URI")
      ->default_val("/");
  add("stat", "Show a file's status", Stat)
      ->add_option("path", args->path, "Cache path or UFS URI")
      ->required();
  add("cat", "Print a file",
      [](client::Client& c, const FsArgs& a) {
        return c.Read(a.path, 0, std::numeric_limits<uint64_t>::max(), WriteStdout).status();
      })
      ->add_option("path", args->path, "Cache path or UFS URI")
      ->required();
  for (const bool tail : {false, true}) {
    CLI::App* cmd =
        add(tail ? "tail" : "head", tail ? "Print the end of a file" : "Print the start of a file",
            [tail](client::Client& c, const FsArgs& a) { return Head(c, a, tail); });
    cmd->add_option("path", args->path, "Cache path or UFS URI")->required();
    cmd->add_option("-c,--bytes", args->bytes, "How much to print (e.g. 1KB, 4096)");
  }
  CLI::App* cp = add("cp", "Copy a file out of the cache to a local file", Copy);
  cp->add_option("path", args->path, "Cache path or UFS URI")->required();
  cp->add_option("local", args->second, "Local destination file")->required();
  CLI::App* mount = add("mount", "Mount a UFS URI at a cache path", Mount);
  mount->add_option("path", args->path, "Cache path")->required();
  mount->add_option("uri", args->second, "UFS URI (file:///dir, s3://bucket/prefix)")->required();
  mount->add_option("--option", args->options, "UFS option key=value (repeatable)");
  add("unmount", "Remove a mount",
      [](client::Client& c, const FsArgs& a) {
        ALLUVIUM_RETURN_IF_ERROR(c.Unmount(a.path));
        fmt::print("Unmounted {}\n", a.path);
        return OkStatus();
      })
      ->add_option("path", args->path, "Cache path")
      ->required();
  add("mounts", "List mounts", [](client::Client& c, const FsArgs&) { return Mounts(c); });
  CLI::App* location =
      add("location", "Show which workers own each segment of a file and how much each holds",
          Location);
  location->add_option("path", args->path, "Cache path or UFS URI")->required();
  location->add_option("--replicas", args->replicas,
                       "Owners to show per segment (the job's replicas)");
}

}  // namespace alluvium::cli
