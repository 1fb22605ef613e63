// The coordinator's gRPC surface for workers (register, heartbeat, a mount's settings) and clients
// (cluster info, mounts). Mount credentials go to workers only, by GetMountOptions; ClusterInfo
// carries them masked. Handlers run on gRPC's thread pool.
#pragma once

#include <memory>

#include "coordinator/membership/worker_registry.h"
#include "coordinator/mounts/mount_manager.h"

namespace grpc {
class Service;
}

namespace alluvium::coordinator {

struct RingSettings {
  std::string policy = "ketama";
  uint32_t virtual_nodes = 0;  // 0: the ring library's default
  uint64_t segment_size = 64ull << 20;
};

struct CoordinatorServiceDeps {
  WorkerRegistry& workers;
  MountManager& mounts;
  RingSettings ring;
  std::string cluster_id;  // refuses workers of another cluster
  std::string token;       // every call must carry it; empty: none required
};

std::unique_ptr<grpc::Service> NewCoordinatorService(CoordinatorServiceDeps deps);

}  // namespace alluvium::coordinator
