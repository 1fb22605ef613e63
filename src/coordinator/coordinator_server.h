// One coordinator process: the durable store, mount table, worker membership, the gRPC service
// and the REST API. Start() brings them up in dependency order; Stop() takes them down in reverse.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "common/config.h"
#include "common/security.h"
#include "common/status.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/scheduler/job_manager.h"

namespace alluvium::coordinator {

struct CoordinatorOptions {
  std::string bind_host = "127.0.0.1";
  int rpc_port = 19998;  // 0: any free port; written to <data_dir>/rpc.port
  int web_port = 19999;  // 0: any free port; written to <data_dir>/web.port
  std::filesystem::path data_dir;
  std::chrono::milliseconds worker_timeout{10000};
  std::string root_ufs;      // mounted at "/" when nothing is
  std::string extra_mounts;  // "/path=uri,..."
  RingSettings ring;
  JobManagerOptions jobs;
  SecuritySettings security;  // TLS and the cluster token, for gRPC and REST
  // The cluster's identity if configured (alluvium.cluster.id); empty: the stored one, or a new
  // one made at the first start.
  std::string cluster_id;

  static Result<CoordinatorOptions> FromConfig(const Config& config);
};

class CoordinatorServer {
 public:
  static Result<std::unique_ptr<CoordinatorServer>> Start(const CoordinatorOptions& options);
  ~CoordinatorServer();

  void Stop();  // idempotent
  int rpc_port() const;
  int web_port() const;

  struct State;  // defined in the .cc; only Start() builds one
  explicit CoordinatorServer(std::unique_ptr<State> state);

 private:
  std::unique_ptr<State> state_;
};

}  // namespace alluvium::coordinator
