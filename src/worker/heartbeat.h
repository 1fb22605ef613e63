// Keeps the worker in the coordinator's membership: registers, then heartbeats every interval,
// and registers again whenever the coordinator says it does not know the worker (it restarted).
// A coordinator that is down is retried forever with capped backoff; the worker keeps serving.
// A coordinator of another cluster, or one that refuses the worker's token, is retried too, with
// the refusal logged as an error: the worker stays out of its ring.
// Owns one thread, started by Start() and joined by Stop() or the destructor.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "common/mutex.h"
#include "common/security.h"
#include "pagestore/page_store.h"

namespace alluvium::worker {

struct HeartbeatOptions {
  std::string coordinator_address;  // host:port of the coordinator's gRPC service
  std::string worker_id;
  std::string worker_address;  // host:port clients use
  std::chrono::milliseconds interval{1000};
  SecuritySettings security;  // TLS and the cluster token of the channel to the coordinator
  // The cluster this worker belongs to; empty: the first one it registers with, whose id is then
  // written to cluster_id_file, so that the worker never joins another cluster's coordinator.
  std::string cluster_id;
  std::filesystem::path cluster_id_file;
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
  // Adopts the cluster id a coordinator answered when the worker had none (and writes it down);
  // kFailedPrecondition if it differs from the worker's.
  Status KeepClusterId(const std::string& answered);

  const HeartbeatOptions options_;
  const pagestore::PageStore& store_;
  std::unique_ptr<Stub> stub_;
  mutable Mutex mu_;
  bool registered_ GUARDED_BY(mu_) = false;
  std::string cluster_id_;  // Run's thread only: the cluster it belongs to, once known
  std::jthread thread_;     // last: joined before the members it uses die
};

}  // namespace alluvium::worker
