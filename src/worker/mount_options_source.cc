#include "worker/mount_options_source.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>

#include "alluvium.grpc.pb.h"
#include "common/logging.h"
#include "proto/channel.h"
#include "proto/grpc_status.h"

namespace alluvium::worker {

UfsOptionsSource MountOptionsSource(const std::string& coordinator_address,
                                    std::map<std::string, std::string> base,
                                    const SecuritySettings& security) {
  std::shared_ptr<rpc::CoordinatorService::Stub> stub = rpc::CoordinatorService::NewStub(
      rpc::NewChannel(coordinator_address, {.security = security}));
  return [stub, base = std::move(base)](const std::string& root) -> Result<ufs::UfsOptions> {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    rpc::GetMountOptionsRequest request;
    request.set_ufs_root(root);
    rpc::MountOptions mount;
    const Status st = FromGrpc(stub->GetMountOptions(&context, request, &mount));
    if (!st.ok()) {
      // Local files need no settings, and a worker must serve them while the coordinator is
      // away. Mount options are picked up at the next refresh.
      ALLUVIUM_LOG(WARN, "no mount options for {} (using the configuration's): {}", root, st);
      return ufs::UfsOptions{.properties = base};
    }
    std::map<std::string, std::string> properties = base;
    for (const auto& [key, value] : mount.properties()) properties[key] = value;
    return ufs::UfsOptions{.properties = std::move(properties)};
  };
}

}  // namespace alluvium::worker
