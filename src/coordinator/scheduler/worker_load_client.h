// The coordinator's side of the worker Load and CheckCached RPCs, with plain types so job code
// never sees gRPC. One channel per worker address, reused. Safe for concurrent use.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "common/status.h"
#include "ufs/ufs.h"

namespace alluvium::coordinator {

struct SegmentRef {
  ufs::FileStatus status;
  uint64_t offset = 0;
  uint64_t length = 0;
};

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
  WorkerLoadClient();
  ~WorkerLoadClient();

  // One outcome per item, in order; a non-OK Result means the call itself failed (worker down,
  // deadline, `cancel` requested: kCancelled at once, and the worker drops the items it still
  // works on within a page), and no item is known to be done.
  Result<std::vector<ItemOutcome>> Load(const std::string& address, const LoadCall& call,
                                        std::chrono::milliseconds timeout,
                                        std::stop_token cancel = {});
  // Bytes of each item's segment cached on the worker, in order.
  Result<std::vector<uint64_t>> CachedBytes(const std::string& address,
                                            const std::vector<SegmentRef>& items,
                                            std::chrono::milliseconds timeout,
                                            std::stop_token cancel = {});
  // The job has ended: the worker releases its pins. Returns the bytes they held.
  Result<uint64_t> EndLoad(const std::string& address, const std::string& job_id,
                           std::chrono::milliseconds timeout);

  // Ends every call in flight to `address` now, with kCancelled: the worker was marked lost, and
  // a stopped or partitioned process would otherwise hold its batches until their deadline.
  void CancelCalls(const std::string& address);

 private:
  struct Stubs;
  std::unique_ptr<Stubs> stubs_;
};

}  // namespace alluvium::coordinator
