#include "coordinator/coordinator_server.h"

#include <algorithm>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>
#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/secrets.h"
#include "common/sleep.h"
#include "common/status_mapping.h"
#include "coordinator/membership/worker_registry.h"
#include "coordinator/mounts/mount_manager.h"
#include "coordinator/rest/load_api.h"
#include "coordinator/rest/rest_server.h"
#include "coordinator/scheduler/grpc_worker_load_client.h"
#include "coordinator/scheduler/job_manager.h"
#include "coordinator/scheduler/placement.h"
#include "coordinator/store/kv_store.h"
#include "proto/cluster_security.h"
#include "ring/ring.h"
#include "ufs/ufs.h"

namespace alluvium::coordinator {

Result<CoordinatorOptions> CoordinatorOptions::FromConfig(const Config& config) {
  CoordinatorOptions o;
  o.bind_host = config.GetString(keys::kCoordinatorBindHost);
  o.rpc_port = static_cast<int>(config.GetInt(keys::kCoordinatorRpcPort));
  o.web_port = static_cast<int>(config.GetInt(keys::kCoordinatorWebPort));
  o.data_dir = config.GetPath(keys::kCoordinatorDataDir);
  if (o.data_dir.empty()) {
    o.data_dir = std::filesystem::path(config.GetPath(keys::kWorkDir)) / "coordinator";
  }
  o.worker_timeout = config.GetDuration(keys::kCoordinatorWorkerTimeout);
  o.root_ufs = config.GetPath(keys::kUfsRoot);
  o.extra_mounts = config.GetString(keys::kMounts);
  o.ring.policy = config.GetString(keys::kUserSelectionPolicy);
  o.ring.virtual_nodes = static_cast<uint32_t>(config.GetInt(keys::kUserVirtualNodes));
  o.ring.segment_size = config.GetSize(keys::kUserSegmentSize);
  ALLUVIUM_RETURN_IF_ERROR(ring::ParsePolicy(o.ring.policy).status());
  for (int port : {o.rpc_port, o.web_port}) {
    if (port < 0 || port > 65535) return InvalidArgument(fmt::format("{} is not a port", port));
  }
  // Segments start on page boundaries for any page size up to 64 MiB.
  if (o.ring.segment_size < (64u << 10) || (o.ring.segment_size & (o.ring.segment_size - 1)) != 0) {
    return InvalidArgument(
        fmt::format("{} must be a power of two of at least 64KB", keys::kUserSegmentSize.name));
  }
  o.jobs = JobManagerOptions::FromConfig(config, o.data_dir);
  ALLUVIUM_ASSIGN_OR_RETURN(o.security, SecuritySettings::FromConfig(config, /*server=*/true));
  o.cluster_id = config.GetString(keys::kClusterId);
  return o;
}

namespace {

// The cluster's identity: the one kept in the store since the first start, else `configured`, else
// a new one; kept before anything is served. A configured id that differs from the stored one is
// another cluster's configuration pointed at this data dir: refused.
Result<std::string> ClusterIdentity(KvStore& store, const std::string& configured) {
  constexpr std::string_view kKey = "cluster/id";
  Result<std::string> stored = store.Get(kKey);
  if (stored.ok()) {
    if (!configured.empty() && configured != *stored) {
      return FailedPrecondition(
          fmt::format("{} is {}, but this coordinator's data dir belongs to cluster {}",
                      keys::kClusterId.name, configured, *stored));
    }
    return stored;
  }
  if (stored.status().code() != Code::kNotFound) return stored.status();
  const std::string id = configured.empty() ? NewClusterId() : configured;
  ALLUVIUM_RETURN_IF_ERROR(store.Put(kKey, id));
  return id;
}

}  // namespace

struct CoordinatorServer::State {
  CoordinatorOptions options;
  std::string cluster_id;
  int rpc_port = 0;
  int web_port = 0;
  std::unique_ptr<KvStore> store;
  std::unique_ptr<MountManager> mounts;
  std::unique_ptr<WorkerRegistry> workers;
  std::unique_ptr<Placement> placement;
  std::unique_ptr<WorkerLoadClient> load_client;
  std::unique_ptr<grpc::Service> service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<JobManager> jobs;
  std::unique_ptr<RestServer> rest;
  std::jthread membership_sweeper;  // notices workers that all went silent at once
  bool stopped = false;
};

namespace {

// A local root that does not exist yet is created, so a first start just works.
Status EnsureLocalRoot(const std::string& root_uri) {
  auto uri = ufs::Uri::Parse(root_uri);
  if (!uri.ok() || uri->scheme != "file") return OkStatus();
  std::error_code ec;
  std::filesystem::create_directories(uri->path, ec);
  if (ec) return FromErrno(ec.value(), "create UFS root " + uri->path);
  return OkStatus();
}

std::string ClusterInfoJson(WorkerRegistry& workers, MountManager& mounts) {
  nlohmann::json j;
  j["workers"] = nlohmann::json::array();
  for (const WorkerRecord& w : workers.Snapshot()) {
    j["workers"].push_back({{"id", w.id},
                            {"address", w.address},
                            {"state", w.live ? "LIVE" : "LOST"},
                            {"lastHeartbeatMs", w.last_heartbeat_unix_ms},
                            {"capacityBytes", w.stats.capacity_bytes},
                            {"usedBytes", w.stats.used_bytes},
                            {"pages", w.stats.pages}});
  }
  j["mounts"] = nlohmann::json::array();
  for (const mounts::Mount& m : mounts.Snapshot()->mounts()) {
    j["mounts"].push_back(
        {{"path", m.path}, {"ufsUri", m.ufs_uri}, {"options", MaskSecrets(m.options)}});
  }
  return j.dump();
}

}  // namespace

CoordinatorServer::CoordinatorServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

CoordinatorServer::~CoordinatorServer() { Stop(); }

Result<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Start(
    const CoordinatorOptions& options) {
  auto s = std::make_unique<State>();
  s->options = options;
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) return FromErrno(ec.value(), "create coordinator data dir " + options.data_dir.string());
  ALLUVIUM_RETURN_IF_ERROR(EnsureLocalRoot(options.root_ufs));
  ALLUVIUM_ASSIGN_OR_RETURN(s->store, KvStore::Open(options.data_dir / "store"));
  ALLUVIUM_ASSIGN_OR_RETURN(s->mounts,
                            MountManager::Open(*s->store, options.root_ufs, options.extra_mounts));
  s->workers = std::make_unique<WorkerRegistry>(options.worker_timeout);
  // Membership survives a restart (see WorkerRegistry::Restore): a coordinator restart does not
  // empty the ring under clients and resumed jobs.
  std::map<std::string, std::string> known_workers;
  ALLUVIUM_RETURN_IF_ERROR(
      s->store->Scan("worker/", [&](std::string_view key, std::string_view address) {
        known_workers.emplace(key.substr(7), address);
        return true;
      }));
  s->workers->Restore(known_workers);
  KvStore& store = *s->store;
  s->load_client = std::make_unique<GrpcWorkerLoadClient>(options.security);
  WorkerLoadClient& load_client = *s->load_client;
  s->workers->SetListener([&store, &load_client](const WorkerRecord& w, bool joined) {
    Status st = joined ? store.Put("worker/" + w.id, w.address) : store.Delete("worker/" + w.id);
    if (!st.ok()) ALLUVIUM_LOG(WARN, "cannot persist membership of {}: {}", w.id, st);
    // Its batches go to the next workers of the ring now, not after their deadline.
    if (!joined) load_client.CancelCalls(w.address);
  });
  ALLUVIUM_ASSIGN_OR_RETURN(s->cluster_id, ClusterIdentity(*s->store, options.cluster_id));
  s->service = NewCoordinatorService({.workers = *s->workers,
                                      .mounts = *s->mounts,
                                      .ring = options.ring,
                                      .cluster_id = s->cluster_id,
                                      .token = options.security.token});

  grpc::ServerBuilder builder;
  builder.AddListeningPort(fmt::format("{}:{}", options.bind_host, options.rpc_port),
                           rpc::ServerCredentials(options.security), &s->rpc_port);
  builder.RegisterService(s->service.get());
  s->server = builder.BuildAndStart();
  if (s->server == nullptr || s->rpc_port == 0) {
    return Unavailable(
        fmt::format("cannot listen on {}:{} (in use?)", options.bind_host, options.rpc_port));
  }

  s->placement = std::make_unique<Placement>(*s->workers, options.ring);
  ALLUVIUM_ASSIGN_OR_RETURN(
      s->jobs, JobManager::Open(*s->store, *s->mounts, *s->workers, *s->placement, *s->load_client,
                                options.jobs));

  s->rest = std::make_unique<RestServer>(options.security);
  AddLoadRoutes(*s->rest, *s->jobs);
  WorkerRegistry& workers = *s->workers;
  MountManager& mounts = *s->mounts;
  s->rest->Get("/api/v1/master/info", [&workers, &mounts](const auto&) -> Result<std::string> {
    return ClusterInfoJson(workers, mounts);
  });
  s->rest->Route("GET", "/metrics", [](const HttpRequest&) -> Result<HttpResponse> {
    return HttpResponse{200, "text/plain; version=0.0.4", metrics::RenderPrometheus()};
  });
  ALLUVIUM_ASSIGN_OR_RETURN(s->web_port, s->rest->Start(options.bind_host, options.web_port));

  // A lost worker is otherwise noticed at the next heartbeat of another, or lookup: with every
  // worker silent (stopped, or cut off from the coordinator), not until some RPC deadline.
  const auto sweep_every = std::clamp(options.worker_timeout / 4, std::chrono::milliseconds(50),
                                      std::chrono::milliseconds(1000));
  s->membership_sweeper = std::jthread([&workers, sweep_every](std::stop_token stop) {
    while (SleepUnlessStopped(stop, sweep_every)) workers.Sweep();
  });

  ALLUVIUM_RETURN_IF_ERROR(
      WriteFileAtomically(options.data_dir / "rpc.port", std::to_string(s->rpc_port) + "\n"));
  ALLUVIUM_RETURN_IF_ERROR(
      WriteFileAtomically(options.data_dir / "web.port", std::to_string(s->web_port) + "\n"));
  ALLUVIUM_LOG(INFO, "coordinator of cluster {} serving gRPC on {}:{}, REST on {}:{}{}{}",
               s->cluster_id, options.bind_host, s->rpc_port, options.bind_host, s->web_port,
               options.security.tls ? ", TLS" : "",
               options.security.token.empty() ? "" : ", cluster token required");
  return std::make_unique<CoordinatorServer>(std::move(s));
}

void CoordinatorServer::Stop() {
  if (!state_ || state_->stopped) return;
  state_->stopped = true;
  state_->membership_sweeper = {};  // joins it
  state_->jobs->EndWaits();         // progress requests waiting for a job's end answer now
  state_->rest->Stop();
  state_->jobs->Shutdown();
  // Every coordinator call is short, so a brief grace: gRPC waits out the whole deadline while
  // any client (a FUSE daemon, a Python process) holds an idle connection, and a shutdown must
  // end within 2 s.
  state_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(250));
  ALLUVIUM_LOG(INFO, "coordinator stopped");
}

int CoordinatorServer::rpc_port() const { return state_->rpc_port; }

int CoordinatorServer::web_port() const { return state_->web_port; }

}  // namespace alluvium::coordinator
