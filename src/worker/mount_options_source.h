// Where a worker's UFS settings come from: its own configuration (alluvium.underfs.*) overlaid
// with the options of the coordinator's mount of that root (credentials given at `fs mount`),
// so users set credentials once, on the mount, not on every worker.
#pragma once

#include <map>
#include <string>

#include "common/security.h"
#include "worker/ufs_registry.h"

namespace alluvium::worker {

// Asks the coordinator at `coordinator_address` on every call, by GetMountOptions: only that
// root's settings, the one answer with credentials in it (ClusterInfo has them masked). If it
// cannot be reached, the configuration alone (and a warning).
UfsOptionsSource MountOptionsSource(const std::string& coordinator_address,
                                    std::map<std::string, std::string> base,
                                    const SecuritySettings& security = {});

}  // namespace alluvium::worker
