// The worker calls a load job makes (Load, CheckCached, EndLoad), with plain types so job code
// never sees gRPC. An interface: the coordinator talks to workers through
// GrpcWorkerLoadClient (grpc_worker_load_client.h), tests through a fake. Implementations are
// safe for concurrent use.
#pragma once

#include <chrono>
#include <stop_token>
#include <string>
#include <vector>

#include "common/status.h"
#include "coordinator/scheduler/segments.h"

namespace alluvium::coordinator {

struct LoadCall {
  std::string job_id;
  std::vector<SegmentRef> items;
  bool metadata_only = false;
  bool skip_if_exists = false;
  uint64_t bandwidth = 0;  // this worker's share, bytes/s; 0 unlimited
  bool pin = false;        // keep the job's pages from eviction until EndLoad
};

struct ItemOutcome {
  Status status;
  uint64_t bytes_loaded = 0;
  uint64_t bytes_skipped = 0;
};

class WorkerLoadClient {
 public:
  virtual ~WorkerLoadClient() = default;

  // One outcome per item, in order; a non-OK Result means the call itself failed (worker down,
  // deadline, `cancel` requested: kCancelled at once, and the worker drops the items it still
  // works on within a page), and no item is known to be done.
  virtual Result<std::vector<ItemOutcome>> Load(const std::string& address, const LoadCall& call,
                                                std::chrono::milliseconds timeout,
                                                std::stop_token cancel = {}) = 0;
  // Bytes of each item's segment cached on the worker, in order.
  virtual Result<std::vector<uint64_t>> CachedBytes(const std::string& address,
                                                    const std::vector<SegmentRef>& items,
                                                    std::chrono::milliseconds timeout,
                                                    std::stop_token cancel = {}) = 0;
  // The job has ended: the worker releases its pins. Returns the bytes they held.
  virtual Result<uint64_t> EndLoad(const std::string& address, const std::string& job_id,
                                   std::chrono::milliseconds timeout) = 0;

  // Ends every call in flight to `address` now, with kCancelled: the worker was marked lost, and
  // a stopped or partitioned process would otherwise hold its batches until their deadline.
  virtual void CancelCalls(const std::string& address) = 0;
};

}  // namespace alluvium::coordinator
