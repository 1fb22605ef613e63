#include "worker/worker_server.h"

#include <algorithm>
#include <fstream>
#include <random>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/status_mapping.h"
#include "metastore/meta_store.h"
#include "proto/cluster_security.h"
#include "worker/heartbeat.h"
#include "worker/mount_options_source.h"
#include "worker/read_through.h"
#include "worker/short_circuit_server.h"
#include "worker/status_cache.h"
#include "worker/ufs_registry.h"
#include "worker/worker_service.h"

namespace alluvium::worker {
namespace {

std::vector<std::filesystem::path> SplitDirs(const std::string& text) {
  std::vector<std::filesystem::path> dirs;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    std::string dir = text.substr(pos, comma - pos);
    if (!dir.empty()) dirs.emplace_back(ExpandHome(dir));
    pos = comma + 1;
  }
  return dirs;
}

}  // namespace

Result<WorkerOptions> WorkerOptions::FromConfig(const Config& config) {
  WorkerOptions o;
  o.bind_host = config.GetString(keys::kWorkerBindHost);
  o.advertised_host = config.GetString(keys::kWorkerHostname);
  o.rpc_port = static_cast<int>(config.GetInt(keys::kWorkerRpcPort));
  o.data_dir = config.GetPath(keys::kWorkerDataDir);
  if (o.data_dir.empty())
    o.data_dir = std::filesystem::path(config.GetPath(keys::kWorkDir)) / "worker";
  o.coordinator_address = fmt::format("{}:{}", config.GetString(keys::kCoordinatorHostname),
                                      config.GetInt(keys::kCoordinatorRpcPort));
  o.heartbeat_interval = config.GetDuration(keys::kWorkerHeartbeatInterval);
  o.cache_filter.file = config.GetPath(keys::kUserCacheFilterConfigFile);
  o.cache_filter.check_interval = config.GetDuration(keys::kUserCacheFilterConfigCheckInterval);
  o.ufs_properties = config.ValuesWithPrefix("alluvium.underfs.");
  ALLUVIUM_ASSIGN_OR_RETURN(o.security, SecuritySettings::FromConfig(config, /*server=*/true));
  o.cluster_id = config.GetString(keys::kClusterId);
  o.page_store.page_size = config.GetSize(keys::kWorkerPageSize);
  o.page_store.capacity_bytes = config.GetSize(keys::kWorkerPageStoreSize);
  o.page_store.dirs = SplitDirs(config.GetString(keys::kWorkerPageStoreDirs));
  o.page_store.region_size = config.GetSize(keys::kWorkerPageStoreRegionSize);
  o.short_circuit_socket = config.GetString(keys::kWorkerShortCircuitSocket);
  if (o.short_circuit_socket.empty()) {
    o.short_circuit_socket = (o.data_dir / "short-circuit.sock").string();
  } else if (o.short_circuit_socket == "none") {
    o.short_circuit_socket.clear();
  } else {
    o.short_circuit_socket = ExpandHome(o.short_circuit_socket);
  }
  if (o.page_store.dirs.empty()) o.page_store.dirs.push_back(o.data_dir / "pages");
  o.load.threads = static_cast<int>(
      std::clamp<int64_t>(config.GetInt(keys::kWorkerUfsReadThreads), -1, 1 << 16));
  if (o.rpc_port < 0 || o.rpc_port > 65535) {
    return InvalidArgument(
        fmt::format("{}: {} is not a port", keys::kWorkerRpcPort.name, o.rpc_port));
  }
  ALLUVIUM_RETURN_IF_ERROR(o.page_store.Validate());
  if (Status st = o.load.Validate(); !st.ok()) {
    return st.WithContext(std::string(keys::kWorkerUfsReadThreads.name));
  }
  return o;
}

// The cluster the worker belongs to: the one its data dir records (it joined it before), which
// must be the configured one if both are set; "" when neither says.
Result<std::string> WorkerClusterId(const std::filesystem::path& data_dir,
                                    const std::string& configured) {
  std::ifstream in(data_dir / "cluster.id");
  std::string recorded;
  if (in) std::getline(in, recorded);
  if (!configured.empty() && !recorded.empty() && configured != recorded) {
    return FailedPrecondition(
        fmt::format("{} is {}, but this worker's data dir ({}) belongs to cluster {}",
                    keys::kClusterId.name, configured, data_dir.string(), recorded));
  }
  return configured.empty() ? recorded : configured;
}

Result<std::string> LoadOrCreateWorkerId(const std::filesystem::path& data_dir) {
  const std::filesystem::path file = data_dir / "worker.id";
  std::ifstream in(file);
  std::string id;
  if (in && std::getline(in, id) && !id.empty()) return id;

  std::random_device random;
  std::uniform_int_distribution<uint32_t> dist;
  id = fmt::format("worker-{:08x}{:08x}{:08x}{:08x}", dist(random), dist(random), dist(random),
                   dist(random));
  ALLUVIUM_RETURN_IF_ERROR(WriteFileAtomically(file, id + "\n"));
  return id;
}

// Members in start order; destroyed in reverse, so nothing outlives what it uses.
struct WorkerServer::State {
  WorkerOptions options;
  std::string id;
  int port = 0;
  std::unique_ptr<pagestore::PageStore> store;
  std::unique_ptr<metastore::MetaStore> meta;
  std::unique_ptr<UfsRegistry> ufs;
  std::unique_ptr<CacheFilter> filter;
  std::unique_ptr<StatusCache> statuses;
  std::unique_ptr<ReadThrough> reads;
  std::unique_ptr<LoadExecutor> loads;  // started before the server, stopped after it
  std::unique_ptr<grpc::Service> service;
  std::unique_ptr<ShortCircuitServer> short_circuit;  // null when off or its socket failed
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<Heartbeat> heartbeat;
  bool stopped = false;
};

WorkerServer::WorkerServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

WorkerServer::~WorkerServer() { Stop(); }

Result<std::unique_ptr<WorkerServer>> WorkerServer::Start(const WorkerOptions& options) {
  auto s = std::make_unique<State>();
  s->options = options;
  // First: a bad rules file is a configuration error, reported before anything is opened.
  ALLUVIUM_ASSIGN_OR_RETURN(s->filter, CacheFilter::Open(options.cache_filter));
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) return FromErrno(ec.value(), "create worker data dir " + options.data_dir.string());
  ALLUVIUM_ASSIGN_OR_RETURN(s->id, LoadOrCreateWorkerId(options.data_dir));
  ALLUVIUM_ASSIGN_OR_RETURN(s->store, pagestore::PageStore::Open(options.page_store));
  ALLUVIUM_ASSIGN_OR_RETURN(s->meta,
                            metastore::MetaStore::OpenOrReset(options.data_dir / "metastore"));
  ALLUVIUM_ASSIGN_OR_RETURN(const std::string cluster_id,
                            WorkerClusterId(options.data_dir, options.cluster_id));
  s->ufs = std::make_unique<UfsRegistry>(
      MountOptionsSource(options.coordinator_address, options.ufs_properties, options.security));
  s->statuses = std::make_unique<StatusCache>(*s->meta, *s->ufs, *s->filter);
  s->reads = std::make_unique<ReadThrough>(*s->store, *s->ufs);
  s->loads = std::make_unique<LoadExecutor>(options.load, *s->store, *s->ufs, *s->meta);
  s->loads->Start();
  if (!options.short_circuit_socket.empty()) {
    // Reads still work without it (through gRPC), so a socket that cannot be made only warns.
    auto sc = ShortCircuitServer::Listen(options.short_circuit_socket, s->id, *s->store, *s->filter,
                                         /*owner_only=*/!options.security.token.empty());
    if (sc.ok()) {
      s->short_circuit = std::move(*sc);
      s->short_circuit->Start();
    } else {
      ALLUVIUM_LOG(WARN, "worker {}: no short-circuit reads: {}", s->id, sc.status());
    }
  }
  s->service = NewWorkerService(
      {.store = *s->store,
       .ufs = *s->ufs,
       .statuses = *s->statuses,
       .reads = *s->reads,
       .loads = *s->loads,
       .filter = *s->filter,
       .worker_id = s->id,
       .short_circuit_socket = s->short_circuit ? s->short_circuit->path() : std::string(),
       .token = options.security.token});

  grpc::ServerBuilder builder;
  builder.AddListeningPort(fmt::format("{}:{}", options.bind_host, options.rpc_port),
                           rpc::ServerCredentials(options.security), &s->port);
  builder.RegisterService(s->service.get());
  builder.SetMaxSendMessageSize(64 << 20);
  s->server = builder.BuildAndStart();
  if (s->server == nullptr || s->port == 0) {
    return Unavailable(
        fmt::format("cannot listen on {}:{} (in use?)", options.bind_host, options.rpc_port));
  }
  ALLUVIUM_RETURN_IF_ERROR(
      WriteFileAtomically(options.data_dir / "rpc.port", std::to_string(s->port) + "\n"));

  s->heartbeat = std::make_unique<Heartbeat>(
      HeartbeatOptions{.coordinator_address = options.coordinator_address,
                       .worker_id = s->id,
                       .worker_address = fmt::format("{}:{}", options.advertised_host, s->port),
                       .interval = options.heartbeat_interval,
                       .security = options.security,
                       .cluster_id = cluster_id,
                       .cluster_id_file = options.data_dir / "cluster.id"},
      *s->store);
  s->heartbeat->Start();
  ALLUVIUM_LOG(INFO, "worker {} serving on {}:{} (page store {} pages, {} bytes)", s->id,
               options.bind_host, s->port, s->store->stats().pages, s->store->stats().used_bytes);
  return std::make_unique<WorkerServer>(std::move(s));
}

void WorkerServer::Stop() {
  if (!state_ || state_->stopped) return;
  state_->stopped = true;
  state_->heartbeat->Stop();
  // Load handlers still running see their calls cancelled at the deadline and return within
  // a page; only then does the executor stop.
  state_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (state_->short_circuit) state_->short_circuit->Stop();
  state_->loads->Stop();
  ALLUVIUM_LOG(INFO, "worker {} stopped", state_->id);
}

int WorkerServer::port() const { return state_->port; }

const std::string& WorkerServer::id() const { return state_->id; }

}  // namespace alluvium::worker
