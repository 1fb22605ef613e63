// An immutable snapshot of what a client needs to route requests: the ring of live workers,
// their addresses, the segment size and the mount table. Replaced whole on refresh. Safe for
// concurrent use.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "client/client.h"
#include "common/status.h"
#include "mounts/mount_table.h"
#include "ring/file_placement_cache.h"
#include "ring/ring.h"

namespace alluvium::rpc {
class ClusterInfo;
}

namespace alluvium::client {

struct ClusterView {
  std::shared_ptr<const ring::Ring> ring;
  std::map<std::string, std::string, std::less<>> address_of;  // worker id -> host:port
  uint64_t segment_size = 0;
  // The balanced placements of the files being read, on `ring`; each placed once per view.
  std::unique_ptr<const ring::FilePlacementCache> files;
  mounts::MountTable mounts;
  std::vector<WorkerInfo> workers;  // live and lost

  // Addresses of up to n workers for key, in ring preference order. What is routed by a file's
  // first segment (statuses, listings, first pages) uses this: segment 0 of any file is placed
  // by the plain ring.
  std::vector<std::string> Candidates(std::string_view key, size_t n) const;
  // Addresses of up to n workers for one segment of `file`, in its placement order
  // (ring/file_placement.h), where the coordinator loads it: [0] owns it, the next ones are the
  // replicas and the workers to fail over to.
  std::vector<std::string> Candidates(const FileInfo& file, uint64_t segment, size_t n) const;
};

// kInvalidArgument if the coordinator sent settings this client cannot use.
Result<std::shared_ptr<const ClusterView>> BuildClusterView(const rpc::ClusterInfo& info);

}  // namespace alluvium::client
