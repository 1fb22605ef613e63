#include "worker/heartbeat.h"

#include <algorithm>

#include <grpcpp/grpcpp.h>

#include "alluvium.grpc.pb.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/sleep.h"
#include "proto/channel.h"
#include "proto/grpc_status.h"

namespace alluvium::worker {
namespace {

// The longest wait between tries to reach the coordinator, retries and reconnects alike: at most
// 4 intervals (and 5 s). A coordinator marks a worker lost after several silent intervals, and a
// restarted one must hear from it before then, or it drops every worker at once from the ring it
// restored.
std::chrono::milliseconds MaxRetryWait(std::chrono::milliseconds interval) {
  return std::min(interval * 4, std::chrono::milliseconds(5000));
}

}  // namespace

class Heartbeat::Stub {
 public:
  // Reconnects as often as it retries (see Run), so a restarted coordinator hears from it in time.
  Stub(const std::string& address, std::chrono::milliseconds max_reconnect_backoff,
       const SecuritySettings& security)
      : stub_(rpc::CoordinatorService::NewStub(rpc::NewChannel(
            address, {.max_reconnect_backoff = max_reconnect_backoff, .security = security}))) {}
  rpc::CoordinatorService::Stub& operator*() { return *stub_; }
  rpc::CoordinatorService::Stub* operator->() { return stub_.get(); }

 private:
  std::unique_ptr<rpc::CoordinatorService::Stub> stub_;
};

namespace {

void FillStats(const pagestore::PageStore& store, rpc::WorkerStats* out) {
  const pagestore::PageStoreStats stats = store.stats();
  // What the cache holds for a load of large files: the configured size less what does not
  // make a whole page record in a region (what loads are sized against).
  out->set_capacity_bytes(stats.page_capacity_bytes);
  out->set_used_bytes(stats.used_bytes);
  out->set_pages(stats.pages);
}

std::unique_ptr<grpc::ClientContext> ContextWithDeadline(std::chrono::milliseconds timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  return context;
}

}  // namespace

Heartbeat::Heartbeat(HeartbeatOptions options, const pagestore::PageStore& store)
    : options_(std::move(options)), store_(store), cluster_id_(options_.cluster_id) {}

Heartbeat::~Heartbeat() { Stop(); }

void Heartbeat::Start() {
  stub_ = std::make_unique<Stub>(options_.coordinator_address, MaxRetryWait(options_.interval),
                                 options_.security);
  thread_ = std::jthread([this](std::stop_token stop) { Run(stop); });
}

void Heartbeat::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();  // cuts its sleep short
  thread_.join();
}

bool Heartbeat::registered() const {
  MutexLock lock(mu_);
  return registered_;
}

Status Heartbeat::KeepClusterId(const std::string& answered) {
  if (answered.empty() || answered == cluster_id_) return OkStatus();
  if (!cluster_id_.empty()) {
    // A coordinator that let in a worker of another cluster: the check belongs to it, but the
    // worker does not trust it either.
    return FailedPrecondition(
        fmt::format("coordinator is cluster {}, this worker belongs to {}", answered, cluster_id_));
  }
  if (!options_.cluster_id_file.empty()) {
    ALLUVIUM_RETURN_IF_ERROR(WriteFileAtomically(options_.cluster_id_file, answered + "\n"));
  }
  cluster_id_ = answered;
  return OkStatus();
}

void Heartbeat::Run(std::stop_token stop) {
  const auto rpc_timeout = std::max(options_.interval * 2, std::chrono::milliseconds(2000));
  std::chrono::milliseconds backoff = options_.interval;
  bool was_registered = false;
  while (!stop.stop_requested()) {
    Status st;
    if (!was_registered) {
      rpc::RegisterWorkerRequest request;
      request.set_worker_id(options_.worker_id);
      request.set_address(options_.worker_address);
      request.set_cluster_id(cluster_id_);
      FillStats(store_, request.mutable_stats());
      rpc::RegisterWorkerResponse response;
      st = FromGrpc(
          (*stub_)->RegisterWorker(ContextWithDeadline(rpc_timeout).get(), request, &response));
      if (st.ok()) st = KeepClusterId(response.cluster_id());
      if (st.ok()) {
        ALLUVIUM_LOG(INFO, "registered with coordinator {} of cluster {} as {} at {}",
                     options_.coordinator_address, cluster_id_, options_.worker_id,
                     options_.worker_address);
        was_registered = true;
      }
    } else {
      rpc::HeartbeatRequest request;
      request.set_worker_id(options_.worker_id);
      FillStats(store_, request.mutable_stats());
      rpc::HeartbeatResponse response;
      st =
          FromGrpc((*stub_)->Heartbeat(ContextWithDeadline(rpc_timeout).get(), request, &response));
      if (st.ok() && !response.registered()) {
        ALLUVIUM_LOG(INFO, "coordinator does not know this worker; registering again");
        was_registered = false;
        continue;
      }
    }
    {
      MutexLock lock(mu_);
      registered_ = was_registered && st.ok();
    }
    if (st.ok()) {
      backoff = options_.interval;
    } else if (st.code() == Code::kFailedPrecondition || st.code() == Code::kUnauthenticated) {
      // Reachable, and refusing this worker: say so where the operator looks.
      ALLUVIUM_LOG(ERROR, "coordinator {} refuses this worker: {}", options_.coordinator_address,
                   st);
      backoff = MaxRetryWait(options_.interval);
    } else {
      ALLUVIUM_LOG(DEBUG, "coordinator unreachable: {}", st);
      backoff = std::min(backoff * 2, MaxRetryWait(options_.interval));
    }
    if (!SleepUnlessStopped(stop, st.ok() ? options_.interval : backoff)) return;
  }
}

}  // namespace alluvium::worker
