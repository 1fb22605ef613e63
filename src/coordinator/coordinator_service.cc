#include "coordinator/coordinator_service.h"

#include "alluvium.grpc.pb.h"
#include "common/secrets.h"
#include "proto/cluster_security.h"
#include "proto/grpc_status.h"

namespace alluvium::coordinator {
namespace {

WorkerStats FromProto(const rpc::WorkerStats& s) {
  return {.capacity_bytes = s.capacity_bytes(), .used_bytes = s.used_bytes(), .pages = s.pages()};
}

class CoordinatorServiceImpl final : public rpc::CoordinatorService::Service {
 public:
  explicit CoordinatorServiceImpl(CoordinatorServiceDeps deps) : deps_(std::move(deps)) {}

  grpc::Status RegisterWorker(grpc::ServerContext* context,
                              const rpc::RegisterWorkerRequest* request,
                              rpc::RegisterWorkerResponse* response) override {
    if (auto denied = rpc::Authenticate(*context, deps_.token); !denied.ok()) return denied;
    if (request->worker_id().empty() || request->address().empty()) {
      return ToGrpc(InvalidArgument("worker_id and address are required"));
    }
    if (!request->cluster_id().empty() && request->cluster_id() != deps_.cluster_id) {
      return ToGrpc(FailedPrecondition(fmt::format(
          "worker {} belongs to cluster {}, and this coordinator is cluster {}: it is not let in "
          "(start it with its own cluster's coordinator, or give it an empty data dir)",
          request->worker_id(), request->cluster_id(), deps_.cluster_id)));
    }
    deps_.workers.Register(request->worker_id(), request->address(), FromProto(request->stats()));
    response->set_cluster_id(deps_.cluster_id);
    return grpc::Status::OK;
  }

  grpc::Status Heartbeat(grpc::ServerContext* context, const rpc::HeartbeatRequest* request,
                         rpc::HeartbeatResponse* response) override {
    if (auto denied = rpc::Authenticate(*context, deps_.token); !denied.ok()) return denied;
    response->set_registered(
        deps_.workers.Heartbeat(request->worker_id(), FromProto(request->stats())));
    return grpc::Status::OK;
  }

  grpc::Status GetClusterInfo(grpc::ServerContext* context, const rpc::GetClusterInfoRequest*,
                              rpc::ClusterInfo* response) override {
    if (auto denied = rpc::Authenticate(*context, deps_.token); !denied.ok()) return denied;
    for (const WorkerRecord& w : deps_.workers.Snapshot()) {
      rpc::WorkerInfo* info = response->add_workers();
      info->set_id(w.id);
      info->set_address(w.address);
      info->set_state(w.live ? rpc::WORKER_STATE_LIVE : rpc::WORKER_STATE_LOST);
      info->set_last_heartbeat_ms(w.last_heartbeat_unix_ms);
      info->mutable_stats()->set_capacity_bytes(w.stats.capacity_bytes);
      info->mutable_stats()->set_used_bytes(w.stats.used_bytes);
      info->mutable_stats()->set_pages(w.stats.pages);
    }
    response->set_cluster_id(deps_.cluster_id);
    response->mutable_ring()->set_policy(deps_.ring.policy);
    response->mutable_ring()->set_virtual_nodes(deps_.ring.virtual_nodes);
    response->mutable_ring()->set_segment_size(deps_.ring.segment_size);
    for (const mounts::Mount& m : deps_.mounts.Snapshot()->mounts()) {
      rpc::MountPoint* point = response->add_mounts();
      point->set_path(m.path);
      point->set_ufs_uri(m.ufs_uri);
      // Clients see which options are set, never a secret's value (GetMountOptions has those).
      const std::map<std::string, std::string> masked = MaskSecrets(m.options);
      point->mutable_options()->insert(masked.begin(), masked.end());
    }
    return grpc::Status::OK;
  }

  // The only answer with secrets in it, for workers; with a cluster token, callers without it
  // are refused like everywhere else.
  grpc::Status GetMountOptions(grpc::ServerContext* context,
                               const rpc::GetMountOptionsRequest* request,
                               rpc::MountOptions* response) override {
    if (auto denied = rpc::Authenticate(*context, deps_.token); !denied.ok()) return denied;
    if (request->ufs_root().find("://") == std::string::npos) {
      return ToGrpc(InvalidArgument(
          fmt::format("'{}' is not a UFS root (scheme://authority)", request->ufs_root())));
    }
    const std::map<std::string, std::string> properties =
        deps_.mounts.Snapshot()->UfsPropertiesFor(request->ufs_root(), {});
    response->mutable_properties()->insert(properties.begin(), properties.end());
    return grpc::Status::OK;
  }

  grpc::Status Mount(grpc::ServerContext* context, const rpc::MountRequest* request,
                     rpc::MountResponse*) override {
    if (auto denied = rpc::Authenticate(*context, deps_.token); !denied.ok()) return denied;
    mounts::Mount m{.path = request->mount().path(), .ufs_uri = request->mount().ufs_uri()};
    m.options.insert(request->mount().options().begin(), request->mount().options().end());
    return ToGrpc(deps_.mounts.Mount(std::move(m)));
  }

  grpc::Status Unmount(grpc::ServerContext* context, const rpc::UnmountRequest* request,
                       rpc::UnmountResponse*) override {
    if (auto denied = rpc::Authenticate(*context, deps_.token); !denied.ok()) return denied;
    return ToGrpc(deps_.mounts.Unmount(request->path()));
  }

 private:
  CoordinatorServiceDeps deps_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewCoordinatorService(CoordinatorServiceDeps deps) {
  return std::make_unique<CoordinatorServiceImpl>(std::move(deps));
}

}  // namespace alluvium::coordinator
