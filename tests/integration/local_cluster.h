// A real cluster for integration tests: one coordinator and N workers, each an `alluvium`
// process on 127.0.0.1 with its own data dir under a temp dir, a local UFS root mounted at "/",
// and every process stopped by PID when the fixture goes away.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/client.h"
#include "common/status.h"
#include "testing/scoped_temp_dir.h"

namespace alluvium::testing {

struct LocalClusterOptions {
  int workers = 3;
  std::vector<std::string> conf;  // extra "key=value" lines for every process
  // Extra "key=value" settings for worker i only (passed as -D flags, so they beat `conf`).
  std::map<int, std::vector<std::string>> worker_conf;
  // Cache filter rules (Alluxio's JSON, docs/metadata.md) written to a file in the cluster's dir
  // and named by alluvium.user.client.cache.filter.config.file. Empty: the default, immutable.
  std::string cache_filter;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout
  std::string errors;  // stderr
};

class LocalCluster {
 public:
  explicit LocalCluster(LocalClusterOptions options = {});
  ~LocalCluster();

  // Starts the coordinator and the workers and waits until every worker is in the ring.
  Status Start();

  const std::filesystem::path& ufs_root() const { return ufs_root_; }
  const std::filesystem::path& conf_file() const { return conf_file_; }
  // Where options.cache_filter was written (empty path without one); rewrite it to change the
  // rules of running workers (they re-read it every check interval).
  const std::filesystem::path& cache_filter_file() const { return cache_filter_file_; }
  int web_port() const { return web_port_; }
  pid_t worker_pid(int i) const { return worker_pids_.at(i); }
  pid_t coordinator_pid() const { return coordinator_pid_; }
  std::filesystem::path worker_dir(int i) const;
  int worker_count() const { return static_cast<int>(worker_pids_.size()); }

  // A client of the cluster; on this host, so it reads cached pages short-circuit unless told not.
  Result<std::unique_ptr<client::Client>> NewClient(bool short_circuit = true) const;
  // The options NewClient(short_circuit) uses, to adjust (e.g. read-ahead) and pass to
  // NewClient(options).
  client::ClientOptions ClientOptions(bool short_circuit = true) const;
  Result<std::unique_ptr<client::Client>> NewClient(const client::ClientOptions& options) const;

  void SignalWorker(int i, int signal);
  // (Re)starts worker i with its old data dir and waits until the coordinator routes to it.
  Status StartWorker(int i);
  // Starts worker i's process and returns at once (for a worker the coordinator may refuse).
  Status SpawnWorker(int i);
  std::filesystem::path worker_log(int i) const;
  void KillCoordinator();  // SIGKILL
  // SIGTERM; kDeadlineExceeded (and SIGKILL) if the coordinator has not exited within `grace`.
  Status StopCoordinator(std::chrono::milliseconds grace);
  Status StartCoordinator();
  // Waits until the coordinator sees exactly `live` live workers.
  Status WaitForLiveWorkers(size_t live, std::chrono::milliseconds deadline);

  // One HTTP/1.1 request to the coordinator's REST API (a body is sent with any method,
  // GET included, as Alluxio's curl examples do), with the cluster's token if it has one, and
  // over TLS (as `alluvium job` speaks it) if its configuration turns TLS on. Status 0: no answer.
  struct HttpReply {
    int status = 0;
    std::string body;
  };
  HttpReply Http(const std::string& method, const std::string& target,
                 const std::string& body = "") const;

  // A load job's verbose JSON progress (`target`: {"path": ...} or {"indexFile": ...}), or
  // {"httpStatus": N} when the coordinator answers anything but 200 with a JSON object.
  nlohmann::json LoadProgress(const nlohmann::json& target) const;
  // Polls LoadProgress until the job has ended (SUCCEEDED, FAILED or STOPPED); a gtest failure
  // naming the last progress if it has not after `deadline`. Returns the last progress.
  nlohmann::json WaitLoadEnded(const nlohmann::json& target,
                               std::chrono::milliseconds deadline) const;

  // Runs `alluvium <args>` against this cluster and captures its output.
  CommandResult Cli(const std::string& args) const;

  // Every process's log file (coordinator.log, worker-<i>.log), and the stderr of the last Cli.
  std::vector<std::filesystem::path> LogFiles() const;

 private:
  void ExpectNoSanitizerReports() const;
  // Copies the processes' logs under $ALLUVIUM_TEST_LOGS when the running test has failed.
  void KeepLogsOfAFailedTest() const;

  LocalClusterOptions options_;
  ScopedTempDir dir_;
  std::filesystem::path ufs_root_;
  std::filesystem::path conf_file_;
  std::filesystem::path cache_filter_file_;
  int rpc_port_ = 0;
  int web_port_ = 0;
  pid_t coordinator_pid_ = -1;
  std::vector<pid_t> worker_pids_;
};

// Reads `files` (cache path -> expected bytes) through the cache, checking each byte for byte
// (gtest failures name the path). Returns the bytes that came from the UFS.
uint64_t ReadBackAndCompare(client::Client& client,
                            const std::map<std::string, std::string>& files);

// Pages cached over all workers, once two heartbeat snapshots 400 ms apart agree.
uint64_t StableCachedPages(client::Client& client);

// A counter summed over every live worker's metrics (GetMetrics, Prometheus text); a gtest
// failure if a worker's metrics cannot be had or lack it.
uint64_t SumOfWorkerMetric(client::Client& client, std::string_view name);

// A free TCP port on 127.0.0.1 (bound and released; good enough for tests).
int FreePort();

// Runs `command` with /bin/sh and captures its stdout, and its stderr through `stderr_file`.
CommandResult RunCommand(const std::string& command, const std::filesystem::path& stderr_file);

// Writes `size` deterministic pseudo-random bytes (seeded) to path; returns them.
std::string WriteRandomFile(const std::filesystem::path& path, size_t size, uint32_t seed);

// Reads [offset, offset + length) of a file through the client into a string; its read
// statistics go to `stats` if given.
Result<std::string> ReadToString(client::Client& client, const std::string& path,
                                 uint64_t offset = 0, uint64_t length = UINT64_MAX,
                                 client::ReadStats* stats = nullptr);

}  // namespace alluvium::testing
