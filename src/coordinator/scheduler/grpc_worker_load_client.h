// WorkerLoadClient over the workers' gRPC service: one channel per worker address, reused, and
// every call in flight tracked so CancelCalls can end it. Safe for concurrent use.
#pragma once

#include <memory>

#include "common/security.h"
#include "coordinator/scheduler/worker_load_client.h"

namespace alluvium::coordinator {

class GrpcWorkerLoadClient final : public WorkerLoadClient {
 public:
  // `security`: the cluster's TLS and token, for the channels to workers.
  explicit GrpcWorkerLoadClient(SecuritySettings security = {});
  ~GrpcWorkerLoadClient() override;

  Result<std::vector<ItemOutcome>> Load(const std::string& address, const LoadCall& call,
                                        std::chrono::milliseconds timeout,
                                        std::stop_token cancel) override;
  Result<std::vector<uint64_t>> CachedBytes(const std::string& address,
                                            const std::vector<SegmentRef>& items,
                                            std::chrono::milliseconds timeout,
                                            std::stop_token cancel) override;
  Result<uint64_t> EndLoad(const std::string& address, const std::string& job_id,
                           std::chrono::milliseconds timeout) override;
  void CancelCalls(const std::string& address) override;

 private:
  struct Stubs;
  std::unique_ptr<Stubs> stubs_;
};

}  // namespace alluvium::coordinator
