// `alluvium cluster start|stop|status|metrics`: a coordinator and N workers on this machine for
// development and demos. State lives in the run dir: pids/, logs/, and one data dir per process.
#include <chrono>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/cli.h"
#include "cli/process.h"
#include "client/client.h"
#include "common/file_util.h"
#include "common/security.h"
#include "common/status_mapping.h"

namespace alluvium::cli {
namespace {

namespace fs = std::filesystem;

struct ClusterArgs {
  int workers = -1;  // -1: from configuration
  std::string run_dir;
  std::string filter;
  int wait_seconds = 60;
};

fs::path RunDir(const Config& config, const ClusterArgs& args) {
  return args.run_dir.empty() ? fs::path(config.GetPath(keys::kClusterRunDir))
                              : fs::path(ExpandHome(args.run_dir));
}

// Every process recorded in pids/, as (name, pid).
std::vector<std::pair<std::string, pid_t>> RecordedProcesses(const fs::path& run) {
  std::vector<std::pair<std::string, pid_t>> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run / "pids", ec)) {
    auto text = ReadWholeFile(entry.path());
    if (!text.ok()) continue;
    out.emplace_back(entry.path().stem().string(), static_cast<pid_t>(std::atol(text->c_str())));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status StartProcess(const Context& context, const fs::path& run, const std::string& name,
                    std::vector<std::string> extra) {
  std::vector<std::string> argv = context.SelfCommand();
  argv.insert(argv.end(), extra.begin(), extra.end());
  ALLUVIUM_ASSIGN_OR_RETURN(pid_t pid, SpawnDaemon(argv, run / "logs" / (name + ".log")));
  return WriteFileAtomically(run / "pids" / (name + ".pid"), std::to_string(pid) + "\n");
}

std::string LogTail(const fs::path& log) {
  auto text = ReadWholeFile(log);
  if (!text.ok()) return "";
  const size_t keep = 2000;
  return text->size() > keep ? text->substr(text->size() - keep) : *text;
}

int Stop(const Config& config, const ClusterArgs& args) {
  const fs::path run = RunDir(config, args);
  auto processes = RecordedProcesses(run);
  if (processes.empty()) {
    fmt::print("No local cluster is recorded in {}\n", run.string());
    return 0;
  }
  // Workers first, so none of them logs a lost coordinator on the way down.
  std::stable_partition(processes.begin(), processes.end(),
                        [](const auto& p) { return p.first != "coordinator"; });
  for (const auto& [name, pid] : processes) {
    if (Status st = Terminate(pid, std::chrono::seconds(10)); !st.ok()) return Fail(st);
    fs::remove(run / "pids" / (name + ".pid"));
    fmt::print("Stopped {} (pid {})\n", name, pid);
  }
  return 0;
}

int PrintStatus(const Config& config, const ClusterArgs& args) {
  const fs::path run = RunDir(config, args);
  auto processes = RecordedProcesses(run);
  for (const auto& [name, pid] : processes) {
    fmt::print("{:<12} pid {:<8} {}\n", name, pid, IsAlive(pid) ? "running" : "NOT RUNNING");
  }
  auto client = client::Client::Connect(config);
  if (!client.ok()) {
    fmt::print("Coordinator: unreachable ({})\n", client.status().message());
    return 1;
  }
  auto workers = (*client)->ListWorkers();
  if (!workers.ok()) return Fail(workers.status());
  fmt::print("Workers known to the coordinator: {}\n", workers->size());
  for (const client::WorkerInfo& w : *workers) {
    fmt::print("  {}  {}  {}  {} pages, {} of {} bytes cached\n", w.id, w.address,
               w.live ? "LIVE" : "LOST", w.pages, w.used_bytes, w.capacity_bytes);
  }
  return 0;
}

// The identity of the run dir's cluster, which its coordinator and workers are started with: a
// worker of this run dir then never joins another cluster's coordinator (one already on the
// port, say). Made at the first start and kept in <run>/cluster.id; the configured
// alluvium.cluster.id wins. Empty for a run dir whose coordinator was made before run dirs had
// one: that coordinator keeps the id it made itself.
Result<std::string> RunDirClusterId(const fs::path& run, const Config& config) {
  if (std::string configured = config.GetString(keys::kClusterId); !configured.empty()) {
    return configured;
  }
  const fs::path file = run / "cluster.id";
  std::string id;
  if (std::ifstream in(file); in && std::getline(in, id) && !id.empty()) return id;
  std::error_code ec;
  if (fs::exists(run / "coordinator" / "store", ec)) return std::string();
  id = NewClusterId();
  ALLUVIUM_RETURN_IF_ERROR(WriteFileAtomically(file, id + "\n"));
  return id;
}

int Start(const Context& context, const Config& config, const ClusterArgs& args) {
  const fs::path run = RunDir(config, args);
  const int workers =
      args.workers >= 0 ? args.workers : static_cast<int>(config.GetInt(keys::kClusterWorkers));
  if (workers < 1 || workers > 64) return Fail(InvalidArgument("--workers must be 1 to 64"));
  for (const auto& [name, pid] : RecordedProcesses(run)) {
    if (IsAlive(pid)) {
      return Fail(FailedPrecondition(fmt::format(
          "a local cluster is already running ({} pid {}); run `alluvium cluster stop` first", name,
          pid)));
    }
  }
  std::error_code ec;
  fs::remove_all(run / "pids", ec);
  for (const char* sub : {"pids", "logs"}) {
    if (fs::create_directories(run / sub, ec); ec) {
      return Fail(FromErrno(ec.value(), "create " + (run / sub).string()));
    }
  }

  const Result<std::string> cluster_id = RunDirClusterId(run, config);
  if (!cluster_id.ok()) return Fail(cluster_id.status());
  std::vector<std::string> identity;
  if (!cluster_id->empty())
    identity = {"-D", std::string(keys::kClusterId.name) + "=" + *cluster_id};
  auto with_identity = [&](std::vector<std::string> args) {
    args.insert(args.begin(), identity.begin(), identity.end());
    return args;
  };
  Status st = StartProcess(
      context, run, "coordinator",
      with_identity({"-D", "alluvium.coordinator.data.dir=" + (run / "coordinator").string(),
                     "coordinator"}));
  for (int i = 0; st.ok() && i < workers; ++i) {
    const std::string name = fmt::format("worker-{}", i);
    st = StartProcess(context, run, name,
                      with_identity({"-D", "alluvium.worker.data.dir=" + (run / name).string(),
                                     "-D", "alluvium.worker.rpc.port=0", "worker"}));
  }
  if (!st.ok()) return Fail(st);

  // Ready when every worker has joined the coordinator's ring: this run dir's coordinator, not
  // another cluster's that holds the port (its workers would be counted as ours).
  Result<client::ClientOptions> client_options = client::ClientOptions::FromConfig(config);
  if (!client_options.ok()) {
    Stop(config, args);
    return Fail(client_options.status());
  }
  client_options->cluster_id = *cluster_id;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(args.wait_seconds);
  size_t live = 0;
  while (std::chrono::steady_clock::now() < until) {
    for (const auto& [name, pid] : RecordedProcesses(run)) {
      if (!IsAlive(pid)) {
        fmt::print(stderr, "{} exited during start-up; its log ends with:\n{}\n", name,
                   LogTail(run / "logs" / (name + ".log")));
        Stop(config, args);
        return 1;
      }
    }
    auto client = client::Client::Connect(*client_options);
    if (!client.ok() && client.status().code() == Code::kFailedPrecondition) {
      fmt::print(stderr, "another cluster answers on this cluster's port: {}\n",
                 client.status().message());
      Stop(config, args);
      return 1;
    }
    if (client.ok()) {
      auto list = (*client)->ListWorkers();
      live = list.ok()
                 ? std::count_if(list->begin(), list->end(), [](const auto& w) { return w.live; })
                 : 0;
      if (live >= static_cast<size_t>(workers)) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (live < static_cast<size_t>(workers)) {
    fmt::print(stderr, "only {} of {} workers joined within {} s; logs are in {}\n", live, workers,
               args.wait_seconds, (run / "logs").string());
    Stop(config, args);
    return 1;
  }
  fmt::print("Local cluster started: coordinator {}:{} (REST on port {}), {} workers; run dir {}\n",
             config.GetString(keys::kCoordinatorHostname), config.GetInt(keys::kCoordinatorRpcPort),
             config.GetInt(keys::kCoordinatorWebPort), workers, run.string());
  return 0;
}

int Metrics(const Config& config, const ClusterArgs& args) {
  auto client = client::Client::Connect(config);
  if (!client.ok()) {
    return Fail(client.status().WithContext("cannot reach the coordinator (is it running?)"));
  }
  auto workers = (*client)->ListWorkers();
  if (!workers.ok()) return Fail(workers.status());
  for (const client::WorkerInfo& w : *workers) {
    if (!w.live) continue;
    auto text = (*client)->WorkerMetrics(w.address);
    if (!text.ok()) return Fail(text.status().WithContext(w.address));
    size_t pos = 0;
    while (pos < text->size()) {
      size_t eol = text->find('\n', pos);
      if (eol == std::string::npos) eol = text->size();
      std::string_view line(text->data() + pos, eol - pos);
      pos = eol + 1;
      if (line.empty() || line.front() == '#') continue;
      if (!args.filter.empty() && line.find(args.filter) == std::string_view::npos) continue;
      fmt::print("{} {}\n", w.id, line);
    }
  }
  return 0;
}

}  // namespace

void AddClusterCommands(CLI::App& app, Context& context) {
  CLI::App* cluster =
      app.add_subcommand("cluster", "A local cluster on this machine")->require_subcommand(1);
  auto args = std::make_shared<ClusterArgs>();
  auto add = [&](const char* name, const char* help, auto run) {
    CLI::App* cmd = cluster->add_subcommand(name, help);
    cmd->add_option("--run-dir", args->run_dir, "Where PIDs, logs and state live");
    RunWithConfig(cmd, context, [&context, args, run](const Config& config) {
      return run(context, config, *args);
    });
    return cmd;
  };
  CLI::App* start = add(
      "start", "Start a coordinator and workers on 127.0.0.1",
      [](const Context& c, const Config& conf, const ClusterArgs& a) { return Start(c, conf, a); });
  start->add_option("-n,--workers", args->workers, "Number of workers (default from config: 3)");
  start->add_option("--wait", args->wait_seconds, "Seconds to wait for the workers to join");
  add("stop", "Stop the local cluster",
      [](const Context&, const Config& conf, const ClusterArgs& a) { return Stop(conf, a); });
  add("status", "Show the local cluster's processes and workers",
      [](const Context&, const Config& conf, const ClusterArgs& a) {
        return PrintStatus(conf, a);
      });
  add("metrics", "Print every live worker's metrics",
      [](const Context&, const Config& conf, const ClusterArgs& a) { return Metrics(conf, a); })
      ->add_option("--filter", args->filter, "Only lines containing this text");
}

}  // namespace alluvium::cli
