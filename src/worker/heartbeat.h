// Keeps the worker in the coordinator's membership: registers, then heartbeats every interval,
// and registers again whenever the coordinator says it does not know the worker (it restarted).
// A coordinator that is down is retried forever with capped backoff; the worker keeps serving.
// Owns one thread, started by Start() and joined by Stop() or the destructor.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "pagestore/page_store.h"

namespace alluvium::worker {

struct HeartbeatOptions {
  std::string coordinator_address;  // host:port of the coordinator's gRPC service
  std::string worker_id;
  std::string worker_address;  // host:port clients use
  std::chrono::milliseconds interval{1000};
};

class Heartbeat {
 public:
  Heartbeat(HeartbeatOptions options, const pagestore::PageStore& store);
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  void Start();
  void Stop();  // idempotent
  bool registered() const;

 private:
  class Stub;
  void Run(std::stop_token stop);

  const HeartbeatOptions options_;
  const pagestore::PageStore& store_;
  std::unique_ptr<Stub> stub_;
  mutable std::mutex mu_;
  bool registered_ = false;  // guarded by mu_
  std::jthread thread_;      // last: joined before the members it uses die
};

}  // namespace alluvium::worker
