// The worker's gRPC surface: reads through the cache, load (cache preloading) and its verify
// check, file status, listing, metrics, and who the worker is.
// Handlers run on gRPC's thread pool; everything they use is safe for concurrent use.
#pragma once

#include <memory>
#include <string>

#include "common/cache_filter.h"
#include "pagestore/page_store.h"
#include "worker/load_executor.h"
#include "worker/read_through.h"
#include "worker/status_cache.h"
#include "worker/ufs_registry.h"

namespace grpc {
class Service;
}

namespace alluvium::worker {

struct WorkerServiceDeps {
  pagestore::PageStore& store;
  UfsRegistry& ufs;
  StatusCache& statuses;
  ReadThrough& reads;
  LoadExecutor& loads;  // started before the service is served
  CacheFilter& filter;  // the data rules of reads
  std::string worker_id;
  std::string short_circuit_socket;  // empty: no short-circuit service
  std::string token;                 // every call must carry it; empty: none required
};

// The gRPC service object; register it with a grpc::ServerBuilder.
std::unique_ptr<grpc::Service> NewWorkerService(WorkerServiceDeps deps);

}  // namespace alluvium::worker
