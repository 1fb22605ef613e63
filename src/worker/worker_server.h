// One worker process: page store, metadata store, read-through, load executor, the gRPC server and
// the short-circuit service for clients on its host, plus the heartbeat that keeps it in the
// coordinator's ring. Start() brings everything up in dependency order; Stop() takes it down in
// reverse.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "common/cache_filter.h"
#include "common/config.h"
#include "common/security.h"
#include "common/status.h"
#include "pagestore/page_store.h"
#include "worker/load_executor.h"

namespace alluvium::worker {

struct WorkerOptions {
  std::string bind_host = "127.0.0.1";
  std::string advertised_host = "127.0.0.1";
  int rpc_port = 29999;  // 0: any free port; the bound one is written to <data_dir>/rpc.port
  std::filesystem::path data_dir;
  std::string coordinator_address;
  std::chrono::milliseconds heartbeat_interval{1000};
  CacheFilterOptions cache_filter;  // which metadata and data are immutable, maxAge, skipCache
  pagestore::PageStoreOptions page_store;
  // Unix socket of the short-circuit service; empty: none.
  std::string short_circuit_socket;
  LoadExecutorOptions load;
  // alluvium.underfs.* settings; a mount's options override them for its root.
  std::map<std::string, std::string> ufs_properties;
  SecuritySettings security;  // TLS and the cluster token, served and presented
  // The cluster this worker belongs to (alluvium.cluster.id); empty: the one recorded in
  // <data_dir>/cluster.id, or the first it joins.
  std::string cluster_id;

  static Result<WorkerOptions> FromConfig(const Config& config);
};

class WorkerServer {
 public:
  static Result<std::unique_ptr<WorkerServer>> Start(const WorkerOptions& options);
  ~WorkerServer();

  void Stop();  // idempotent
  int port() const;
  const std::string& id() const;

  struct State;  // defined in the .cc; only Start() can build one
  explicit WorkerServer(std::unique_ptr<State> state);

 private:
  std::unique_ptr<State> state_;
};

// The worker's stable identity, kept in <data_dir>/worker.id (created on first start), so a
// restarted worker takes its old place on the ring and finds its cached pages where reads look.
Result<std::string> LoadOrCreateWorkerId(const std::filesystem::path& data_dir);

}  // namespace alluvium::worker
