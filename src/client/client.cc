#include "client/client.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <set>
#include <stop_token>

#include <grpcpp/grpcpp.h>

#include "alluvium.grpc.pb.h"
#include "client/cluster_view.h"
#include "client/malloc_tuning.h"
#include "client/metadata_cache.h"
#include "client/read_ahead.h"
#include "client/short_circuit.h"
#include "common/logging.h"
#include "common/paths.h"
#include "common/status_mapping.h"
#include "pagestore/page_key.h"
#include "proto/channel.h"
#include "proto/grpc_status.h"
#include "proto/read_chunk_wire.h"

namespace alluvium::client {
namespace {

constexpr int kMaxMessageBytes = 80 << 20;  // above the largest page (64 MiB) plus framing
// A worker found not to be on this host (or without a short-circuit service) is asked again
// after this long: it may have restarted with one.
constexpr auto kShortCircuitRecheck = std::chrono::seconds(30);
constexpr uint64_t kMinPartSize = 64 << 10;
constexpr uint64_t kMaxPartSize = 1ull << 30;
// WorkerService.Read, called with raw messages in (proto/read_chunk_wire.h) so that received
// pages reach the sink where gRPC put them, not copied out by protobuf.
constexpr char kReadMethod[] = "/alluvium.rpc.WorkerService/Read";

FileInfo ToFileInfo(const rpc::FileStatus& s, std::string path) {
  return {.path = std::move(path),
          .uri = s.uri(),
          .is_directory = s.is_directory(),
          .length = s.length(),
          .mtime_ms = s.mtime_ms(),
          .version = s.version()};
}

// A fixed 8 MiB stream window rather than gRPC's probing: a remote reader measured (issue 13)
// 0.3 s of CPU per GiB with it against 0.45-0.55 s with the probed window, the difference
// being page faults on memory the larger window cycled through.
constexpr int kStreamWindowBytes = 8 << 20;

std::shared_ptr<grpc::Channel> NewChannel(const std::string& address,
                                          const SecuritySettings& security) {
  return rpc::NewChannel(address, {.max_receive_message_bytes = kMaxMessageBytes,
                                   .stream_window_bytes = kStreamWindowBytes,
                                   .security = security});
}

}  // namespace

Result<ClientOptions> ClientOptions::FromConfig(const Config& config) {
  ClientOptions o;
  o.coordinator_address = fmt::format("{}:{}", config.GetString(keys::kCoordinatorHostname),
                                      config.GetInt(keys::kCoordinatorRpcPort));
  o.rpc_timeout = config.GetDuration(keys::kUserRpcTimeout);
  o.workers_tried = std::max<int>(1, static_cast<int>(config.GetInt(keys::kUserReadWorkersTried)));
  o.short_circuit = config.GetBool(keys::kUserShortCircuitEnabled);
  o.cache_filter.file = config.GetPath(keys::kUserCacheFilterConfigFile);
  o.cache_filter.check_interval = config.GetDuration(keys::kUserCacheFilterConfigCheckInterval);
  o.metadata_cache_entries =
      static_cast<size_t>(std::max<int64_t>(0, config.GetInt(keys::kUserMetadataCacheMaxSize)));
  o.metadata_cache_expiration = config.GetDuration(keys::kUserMetadataCacheExpiration);
  o.read_ahead_window = config.GetSize(keys::kUserReadAheadWindow);
  o.read_ahead_part_size = config.GetSize(keys::kUserReadAheadPartSize);
  o.malloc_trim_threshold = config.GetSize(keys::kUserMallocTrimThreshold);
  ALLUVIUM_ASSIGN_OR_RETURN(o.security, SecuritySettings::FromConfig(config, /*server=*/false));
  o.cluster_id = config.GetString(keys::kClusterId);
  return o;
}

Status ClientOptions::Validate() const {
  if (read_ahead_part_size < kMinPartSize || read_ahead_part_size > kMaxPartSize) {
    return InvalidArgument(fmt::format("read-ahead part size {} is outside [{}, {}]",
                                       read_ahead_part_size, kMinPartSize, kMaxPartSize));
  }
  if (read_ahead_window / read_ahead_part_size > 1024) {
    return InvalidArgument(fmt::format("read-ahead window {} is over 1024 parts of {}",
                                       read_ahead_window, read_ahead_part_size));
  }
  if (workers_tried < 1) return InvalidArgument("workers tried must be at least 1");
  return OkStatus();
}

struct Client::Impl {
  ClientOptions options;
  std::unique_ptr<rpc::CoordinatorService::Stub> coordinator;
  std::unique_ptr<CacheFilter> filter;
  std::unique_ptr<MetadataCache> metadata;

  std::mutex mu;
  std::shared_ptr<const ClusterView> view;          // guarded by mu
  std::chrono::steady_clock::time_point view_time;  // guarded by mu
  struct WorkerConnection {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<rpc::WorkerService::Stub> stub;
    std::unique_ptr<grpc::internal::RpcMethod> read;  // kReadMethod, registered on the channel
  };
  std::map<std::string, WorkerConnection> workers;  // guarded by mu; by address
  struct LocalWorker {
    std::shared_ptr<ShortCircuitChannel> channel;  // null: not on this host
    std::chrono::steady_clock::time_point checked;
  };
  std::map<std::string, LocalWorker> local;  // guarded by mu; by worker address

  std::unique_ptr<grpc::ClientContext> Context() const {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + options.rpc_timeout);
    return context;
  }

  Result<std::shared_ptr<const ClusterView>> View(bool refresh) {
    {
      std::lock_guard lock(mu);
      if (view && !refresh &&
          std::chrono::steady_clock::now() - view_time < options.cluster_info_ttl) {
        return view;
      }
    }
    rpc::ClusterInfo info;
    Status st = FromGrpc(coordinator->GetClusterInfo(Context().get(), {}, &info));
    if (!st.ok()) {
      std::lock_guard lock(mu);
      if (view) {
        // Workers serve reads, so a coordinator restart must not stop them: keep the last view
        // (OnWorkers skips workers that fail) and ask the coordinator again after the TTL.
        ALLUVIUM_LOG(DEBUG, "coordinator {} unreachable, using the last cluster view: {}",
                     options.coordinator_address, st);
        view_time = std::chrono::steady_clock::now();
        return view;
      }
      return st.WithContext(fmt::format("coordinator {}", options.coordinator_address));
    }
    if (!options.cluster_id.empty() && info.cluster_id() != options.cluster_id) {
      return FailedPrecondition(fmt::format("the coordinator at {} is cluster {}, not {} ({})",
                                            options.coordinator_address, info.cluster_id(),
                                            options.cluster_id, keys::kClusterId.name));
    }
    ALLUVIUM_ASSIGN_OR_RETURN(auto fresh, BuildClusterView(info));
    std::lock_guard lock(mu);
    view = fresh;
    view_time = std::chrono::steady_clock::now();
    return fresh;
  }

  // Connections live as long as the client, so the reference stays valid.
  WorkerConnection& Connection(const std::string& address) {
    std::lock_guard lock(mu);
    WorkerConnection& c = workers[address];
    if (!c.channel) {
      c.channel = NewChannel(address, options.security);
      c.stub = rpc::WorkerService::NewStub(c.channel);
      c.read = std::make_unique<grpc::internal::RpcMethod>(
          kReadMethod, grpc::internal::RpcMethod::SERVER_STREAMING, c.channel);
    }
    return c;
  }

  rpc::WorkerService::Stub& Worker(const std::string& address) { return *Connection(address).stub; }

  // The short-circuit channel to the worker at `address` if it is on this host, else null. The
  // answer is kept (a negative one for kShortCircuitRecheck).
  std::shared_ptr<ShortCircuitChannel> LocalChannel(const std::string& address) {
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(mu);
      auto it = local.find(address);
      if (it != local.end() &&
          (it->second.channel || now - it->second.checked < kShortCircuitRecheck)) {
        return it->second.channel;
      }
    }
    std::shared_ptr<ShortCircuitChannel> channel;
    rpc::WorkerDescription description;
    Status st = FromGrpc(Worker(address).Describe(Context().get(), {}, &description));
    if (st.ok() && !description.short_circuit_socket().empty()) {
      auto connected =
          ShortCircuitChannel::Connect(description.short_circuit_socket(), description.id());
      if (connected.ok()) {
        channel = std::move(*connected);
      } else {
        st = connected.status();
      }
    }
    ALLUVIUM_LOG(
        DEBUG, "worker {}: short-circuit {}", address,
        channel ? "connected" : fmt::format("not used: {}", st.ok() ? "no socket" : st.ToString()));
    std::lock_guard lock(mu);
    local[address] = {.channel = channel, .checked = now};
    return channel;
  }

  // Like readdirplus: a listing tells where the first page of each file it names is
  // cached on a worker of this host, one request per worker for the whole batch, so reading
  // those files next asks no worker. Best effort: a failure only costs the reads a request.
  void LocateListedFiles(const ClusterView& current, const rpc::ListStatusResponse& batch) {
    if (!options.short_circuit) return;
    std::map<std::string, std::vector<std::pair<std::string_view, pagestore::FileId>>> by_owner;
    for (const rpc::FileStatus& entry : batch.entries()) {
      if (entry.is_directory() || entry.length() == 0) continue;
      // Page 0 is in segment 0, which every file's placement leaves on its ring owner.
      const std::vector<std::string> owner =
          current.Candidates(ring::PlacementKey(entry.uri(), 0), 1);
      if (owner.empty()) continue;
      by_owner[owner.front()].emplace_back(entry.uri(),
                                           pagestore::FileIdOf(entry.uri(), entry.version()));
    }
    for (const auto& [address, files] : by_owner) {
      std::shared_ptr<ShortCircuitChannel> channel = LocalChannel(address);
      if (!channel) continue;
      std::vector<ShortCircuitChannel::FileToLocate> small;
      for (const auto& [uri, id] : files) small.push_back({.uri = uri, .file = id});
      if (Status st = channel->LocateFirstPages(small); !st.ok()) {
        ALLUVIUM_LOG(DEBUG, "short-circuit locations from {} not fetched: {}", address, st);
        DropChannel(address);
      }
    }
  }

  void DropChannel(const std::string& address) {
    std::lock_guard lock(mu);
    local.erase(address);
  }

  // Runs attempt(worker stub, address) on the workers of `key` in ring preference order until
  // one succeeds or fails with an error another worker would not fix. The membership is re-read
  // after each failure, so a worker the coordinator has marked lost is no longer tried.
  // A stop requested on `stop` (the reader gave up) ends the retries.
  template <typename Attempt>
  Status OnWorkers(std::string_view key, ReadStats* stats, Attempt&& attempt,
                   std::stop_token stop = {}) {
    return OnWorkersOf(
        key, [&](const ClusterView& view, size_t n) { return view.Candidates(key, n); }, stats,
        std::forward<Attempt>(attempt), stop);
  }

  // OnWorkers on the workers that candidates(view, n) names on each view, in its order (a file's
  // segment goes by its placement); `key` only names the request in messages.
  template <typename Candidates, typename Attempt>
  Status OnWorkersOf(std::string_view key, Candidates&& candidates, ReadStats* stats,
                     Attempt&& attempt, std::stop_token stop = {}) {
    std::set<std::string> failed;
    Status last = Unavailable(fmt::format("no live worker for '{}'", key));
    bool refresh = false;
    for (int tries = 0; tries < options.workers_tried; ++tries) {
      ALLUVIUM_ASSIGN_OR_RETURN(auto current, View(refresh));
      std::string address;
      for (const std::string& candidate : candidates(*current, failed.size() + 1)) {
        if (!failed.contains(candidate)) {
          address = candidate;
          break;
        }
      }
      if (address.empty()) {
        // A view without a live worker may be from a moment when there was none (a restarted
        // coordinator that has not heard from them yet): ask again once before failing.
        if (refresh || !failed.empty()) break;
        refresh = true;
        continue;
      }
      Status st = attempt(Worker(address), address);
      if (st.ok() || !WorthAnotherWorker(st) || stop.stop_requested()) return st;
      ALLUVIUM_LOG(DEBUG, "worker {} failed for '{}': {}; trying the next worker of the ring",
                   address, key, st);
      failed.insert(address);
      last = st.WithContext(fmt::format("worker {}", address));
      refresh = true;
      if (stats != nullptr) ++stats->worker_failovers;
    }
    return last;
  }

  // The status of the file at a cache path or UFS URI; kInvalidArgument for a directory.
  Result<FileInfo> StatFile(const ClusterView& current, std::string_view path) {
    ALLUVIUM_ASSIGN_OR_RETURN(mounts::Resolved target, current.mounts.ResolveAny(path));
    ALLUVIUM_ASSIGN_OR_RETURN(FileInfo info, Stat(current, target));
    if (info.is_directory) return InvalidArgument(fmt::format("'{}' is a directory", info.path));
    return info;
  }

  struct HereRead {
    bool owner_here = false;  // the segment's owner is a worker on this host
    uint64_t bytes = 0;       // read from its page store files (short-circuit) and passed on
  };
  // Reads [pos, end), within one segment, short-circuit if the segment's owner is on this host:
  // as far as its cached pages go (HereRead::bytes, fewer than asked where one is not cached,
  // the channel failed or the owner is elsewhere). A channel that broke or failed is dropped.
  // The sink's error, if it failed.
  Result<HereRead> ReadHere(const ClusterView& current, const FileInfo& info,
                            const pagestore::FileId& file_id, uint64_t pos, uint64_t end,
                            const Sink& sink, std::byte* in_place) {
    const std::vector<std::string> owner = current.Candidates(info, pos / current.segment_size, 1);
    std::shared_ptr<ShortCircuitChannel> channel =
        owner.empty() ? nullptr : LocalChannel(owner.front());
    if (channel == nullptr) return HereRead{};
    Status sink_status;
    auto read = channel->Read(
        info.uri, file_id, pos, end,
        [&](std::span<const std::byte> d) {
          sink_status = sink(d);
          return sink_status;
        },
        in_place);
    if (!sink_status.ok()) return sink_status;
    if (!read.ok()) {
      ALLUVIUM_LOG(DEBUG, "short-circuit to {} failed: {}; reading through gRPC", owner.front(),
                   read.status());
      DropChannel(owner.front());
      return HereRead{.owner_here = true};
    }
    if (channel->broken()) DropChannel(owner.front());
    return HereRead{.owner_here = true, .bytes = *read};
  }

  // The short-circuit channel to the owner of the file's segment if it is on this host, else null.
  std::shared_ptr<ShortCircuitChannel> LocalOwner(const ClusterView& current, const FileInfo& info,
                                                  uint64_t segment) {
    const std::vector<std::string> owner = current.Candidates(info, segment, 1);
    return owner.empty() ? nullptr : LocalChannel(owner.front());
  }

  // A Read RPC for [pos, end) of the file on the worker at `address`, with raw messages in.
  struct ReadCall {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader;

    ~ReadCall() {
      if (reader) {
        context->TryCancel();
        (void)reader->Finish();
      }
    }
  };
  std::unique_ptr<ReadCall> StartRead(const std::string& address, const FileInfo& info,
                                      uint64_t pos, uint64_t end) {
    WorkerConnection& worker = Connection(address);
    rpc::ReadRequest request;
    request.set_uri(info.uri);
    request.set_offset(pos);
    request.set_length(end - pos);
    // The status just fetched, so the worker need not look it up again (zero UFS requests for
    // cached data under an immutable data rule).
    rpc::FileStatus* status = request.mutable_status();
    status->set_uri(info.uri);
    status->set_is_directory(info.is_directory);
    status->set_length(info.length);
    status->set_mtime_ms(info.mtime_ms);
    status->set_version(info.version);
    auto call = std::make_unique<ReadCall>();
    call->context = Context();
    call->reader.reset(grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
        worker.channel.get(), *worker.read, call->context.get(), request));
    return call;
  }

  // One part of a remote read: the owner's stream is opened at once (read ahead); Drain reads it,
  // and on failure moves to the next worker of the ring, resuming after the last byte emitted.
  class PartStream final : public ReadAhead::Stream {
   public:
    PartStream(Impl& impl, const ClusterView& view, const FileInfo& info, uint64_t segment_size,
               const Part& part, ReadStats& stats)
        : impl_(impl),
          info_(info),
          part_(part),
          stats_(stats),
          segment_(part.begin / segment_size),
          key_(ring::PlacementKey(info.uri, segment_)) {
      const std::vector<std::string> owner = view.Candidates(info, segment_, 1);
      if (!owner.empty()) {
        early_address_ = owner.front();
        early_ = impl_.StartRead(early_address_, info_, part_.begin, part_.end);
      }
    }

    Status Drain(const ReadAhead::Emit& emit) override {
      uint64_t pos = part_.begin;
      Status emit_status;
      std::stop_source gave_up;  // the consumer failed: no other worker is tried
      Status st = impl_.OnWorkersOf(
          key_,
          [&](const ClusterView& view, size_t n) { return view.Candidates(info_, segment_, n); },
          &stats_,
          [&](rpc::WorkerService::Stub&, const std::string& address) -> Status {
            std::unique_ptr<ReadCall> call;
            if (early_ && address == early_address_ && pos == part_.begin) {
              call = std::move(early_);
            } else {
              early_.reset();
              call = impl_.StartRead(address, info_, pos, part_.end);
            }
            auto fail = [&](Status why) {
              call.reset();  // cancels
              return why;
            };
            grpc::ByteBuffer message;
            while (call->reader->Read(&message)) {
              auto chunk = rpc::DecodeReadChunk(message);
              if (!chunk.ok()) {
                return fail(chunk.status().WithContext(fmt::format("worker {}", address)));
              }
              if (chunk->status && chunk->status->version() != info_.version) {
                return fail(Aborted(fmt::format("'{}' changed while being read", info_.path)));
              }
              if (chunk->data_size == 0) continue;
              if (chunk->offset != pos || chunk->data_size > part_.end - pos) {
                return fail(InternalError(
                    fmt::format("worker {} sent [{}, +{}) where [{}, {}) was expected", address,
                                chunk->offset, chunk->data_size, pos, part_.end)));
              }
              const bool from_ufs = chunk->source == rpc::PAGE_SOURCE_UFS;
              ALLUVIUM_LOG(DEBUG, "read {} offset={} bytes={} worker={} source={}", info_.path, pos,
                           chunk->data_size, address, from_ufs ? "ufs" : "cache");
              const uint64_t size = chunk->data_size;
              auto received = std::make_shared<rpc::ReadChunkView>(std::move(*chunk));
              emit_status = emit(
                  {.data = received->data, .size = size, .from_ufs = from_ufs, .owner = received});
              if (!emit_status.ok()) {
                gave_up.request_stop();
                return fail(emit_status);
              }
              pos += size;
            }
            Status rpc_status = FromGrpc(call->reader->Finish());
            call->reader.reset();
            return rpc_status;
          },
          gave_up.get_token());
      if (!emit_status.ok()) return emit_status;
      return st;
    }

   private:
    Impl& impl_;
    const FileInfo& info_;
    const Part part_;
    ReadStats& stats_;
    const uint64_t segment_;
    const std::string key_;  // the segment's ring key, naming it in messages
    std::string early_address_;
    std::unique_ptr<ReadCall> early_;  // opened ahead on the owner; null once used or dropped
  };

  // Reads [begin, end) of the file through the workers, cut into parts read ahead as configured.
  // Returns the bytes delivered, fewer if the file ended early; a failure of the sink is put in
  // sink_status (and returned).
  Result<uint64_t> ReadRemote(const ClusterView& view, const FileInfo& info, uint64_t begin,
                              uint64_t end, const Sink& sink, ReadStats& stats,
                              Status& sink_status) {
    const uint64_t segment_size = view.segment_size;
    const size_t in_flight = options.read_ahead_window / options.read_ahead_part_size;
    // Without read-ahead a part is all of a segment: one RPC, no restart every few MiB.
    const uint64_t part_size = in_flight >= 2 ? options.read_ahead_part_size : segment_size;
    std::vector<Part> parts;
    for (uint64_t p = begin; p < end;) {
      const uint64_t next =
          std::min({end, (p / part_size + 1) * part_size, (p / segment_size + 1) * segment_size});
      parts.push_back({.begin = p, .end = next});
      p = next;
    }
    return ReadAhead::Run(
        parts, in_flight,
        [&](const Part& part) {
          return std::make_unique<PartStream>(*this, view, info, segment_size, part, stats);
        },
        [&](const Chunk& chunk) -> Status {
          for (std::span<const std::byte> piece : chunk.data) {
            sink_status = sink(piece);
            if (!sink_status.ok()) return sink_status;
          }
          stats.bytes += chunk.size;
          (chunk.from_ufs ? stats.bytes_from_ufs : stats.bytes_from_cache) += chunk.size;
          return OkStatus();
        });
  }

  Result<FileInfo> Stat(const ClusterView& current, const mounts::Resolved& target) {
    if (std::optional<FileInfo> known = metadata->Get(target.ufs_uri)) {
      known->path = target.cache_path;
      return *known;
    }
    rpc::FileStatus status;
    Status st = OnWorkers(ring::PlacementKey(target.ufs_uri, 0), nullptr,
                          [&](rpc::WorkerService::Stub& stub, const std::string&) {
                            rpc::GetStatusRequest request;
                            request.set_uri(target.ufs_uri);
                            return FromGrpc(stub.GetStatus(Context().get(), request, &status));
                          });
    if (!st.ok()) return st.WithContext(target.cache_path);
    FileInfo info = ToFileInfo(status, target.cache_path);
    metadata->Put(info);
    return info;
  }
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Connect(const Config& config) {
  ALLUVIUM_ASSIGN_OR_RETURN(ClientOptions options, ClientOptions::FromConfig(config));
  return Connect(options);
}

Result<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  auto impl = std::make_unique<Impl>();
  ALLUVIUM_RETURN_IF_ERROR(options.Validate());
  TuneMallocForStreaming(options.malloc_trim_threshold);
  impl->options = options;
  impl->coordinator =
      rpc::CoordinatorService::NewStub(NewChannel(options.coordinator_address, options.security));
  ALLUVIUM_ASSIGN_OR_RETURN(impl->filter, CacheFilter::Open(options.cache_filter));
  impl->metadata = std::make_unique<MetadataCache>(*impl->filter, options.metadata_cache_entries,
                                                   options.metadata_cache_expiration);
  ALLUVIUM_RETURN_IF_ERROR(impl->View(true).status());
  return std::make_unique<Client>(std::move(impl));
}

Result<FileInfo> Client::GetStatus(std::string_view path) {
  ALLUVIUM_ASSIGN_OR_RETURN(auto view, impl_->View(false));
  ALLUVIUM_ASSIGN_OR_RETURN(mounts::Resolved target, view->mounts.ResolveAny(path));
  return impl_->Stat(*view, target);
}

Status Client::List(std::string_view path, bool recursive,
                    const std::function<Status(const FileInfo&)>& visit) {
  ALLUVIUM_ASSIGN_OR_RETURN(auto view, impl_->View(false));
  ALLUVIUM_ASSIGN_OR_RETURN(mounts::Resolved target, view->mounts.ResolveAny(path));
  if (!recursive) {
    if (std::optional<std::vector<FileInfo>> known = impl_->metadata->GetListing(target.ufs_uri)) {
      for (const FileInfo& info : *known) ALLUVIUM_RETURN_IF_ERROR(visit(info));
      return OkStatus();
    }
  }
  std::vector<FileInfo> listed;  // kept for the next listing of the directory (not recursive)
  bool delivered = false;
  Status visit_status;
  Status st = impl_->OnWorkers(ring::PlacementKey(target.ufs_uri, 0), nullptr,
                               [&](rpc::WorkerService::Stub& stub, const std::string&) -> Status {
                                 rpc::ListStatusRequest request;
                                 request.set_uri(target.ufs_uri);
                                 request.set_recursive(recursive);
                                 auto context = impl_->Context();
                                 auto reader = stub.ListStatus(context.get(), request);
                                 rpc::ListStatusResponse batch;
                                 while (reader->Read(&batch)) {
                                   impl_->LocateListedFiles(*view, batch);
                                   for (const rpc::FileStatus& entry : batch.entries()) {
                                     auto cache = view->mounts.ResolveUfsUri(entry.uri());
                                     const FileInfo info = ToFileInfo(
                                         entry, cache.ok() ? cache->cache_path : entry.uri());
                                     impl_->metadata->Put(info);  // a listing is as fresh as a stat
                                     if (!recursive) listed.push_back(info);
                                     visit_status = visit(info);
                                     delivered = true;
                                     if (!visit_status.ok()) {
                                       context->TryCancel();
                                       break;
                                     }
                                   }
                                   if (!visit_status.ok()) break;
                                 }
                                 Status rpc_status = FromGrpc(reader->Finish());
                                 if (!visit_status.ok()) return visit_status;
                                 // Part of the listing was already delivered: another worker would
                                 // repeat it.
                                 if (!rpc_status.ok() && delivered)
                                   return Aborted(rpc_status.ToString());
                                 return rpc_status;
                               });
  if (st.ok() && !recursive) impl_->metadata->PutListing(target.ufs_uri, listed);
  return st.WithContext(target.cache_path);
}

Result<ReadStats> Client::Read(std::string_view path, uint64_t offset, uint64_t length,
                               const Sink& sink) {
  return ReadTo(path, offset, length, sink, nullptr);
}

Result<ReadStats> Client::ReadInto(std::string_view path, uint64_t offset,
                                   std::span<std::byte> out) {
  size_t filled = 0;
  return ReadTo(
      path, offset, out.size(),
      [&](std::span<const std::byte> data) -> Status {
        if (data.size() > out.size() - filled) {
          return InternalError(fmt::format("a read of {} delivered more than asked", path));
        }
        // Pages read in place are already where they belong.
        if (data.data() != out.data() + filled) {
          std::memcpy(out.data() + filled, data.data(), data.size());
        }
        filled += data.size();
        return OkStatus();
      },
      out.data());
}

Result<size_t> Client::ReadCachedHere(std::string_view path, uint64_t offset,
                                      std::span<std::byte> out) {
  ALLUVIUM_ASSIGN_OR_RETURN(auto view, impl_->View(false));
  ALLUVIUM_ASSIGN_OR_RETURN(FileInfo info, impl_->StatFile(*view, path));
  if (!impl_->options.short_circuit || offset >= info.length) return size_t{0};
  const uint64_t end = offset + std::min<uint64_t>(out.size(), info.length - offset);
  const pagestore::FileId file_id = pagestore::FileIdOf(info.uri, info.version);
  const Sink keep = [](std::span<const std::byte>) { return OkStatus(); };  // read in place
  uint64_t pos = offset;
  while (pos < end) {
    const uint64_t segment_end = std::min(end, (pos / view->segment_size + 1) * view->segment_size);
    ALLUVIUM_ASSIGN_OR_RETURN(
        const Impl::HereRead here,
        impl_->ReadHere(*view, info, file_id, pos, segment_end, keep, out.data() + (pos - offset)));
    pos += here.bytes;
    if (pos < segment_end) break;  // not all cached on this host
  }
  return pos - offset;
}

Result<ReadStats> Client::ReadTo(std::string_view path, uint64_t offset, uint64_t length,
                                 const Sink& sink, std::byte* in_place) {
  ALLUVIUM_ASSIGN_OR_RETURN(auto view, impl_->View(false));
  ALLUVIUM_ASSIGN_OR_RETURN(FileInfo info, impl_->StatFile(*view, path));

  ReadStats stats;
  if (offset >= info.length) return stats;
  const uint64_t end = offset + std::min(length, info.length - offset);
  const uint64_t segment_size = view->segment_size;
  const pagestore::FileId file_id = pagestore::FileIdOf(info.uri, info.version);
  uint64_t pos = offset;
  bool reached_eof = false;
  while (pos < end && !reached_eof) {
    const uint64_t segment = pos / segment_size;
    const uint64_t segment_end = std::min(end, (segment + 1) * segment_size);
    Status sink_status;
    bool served_here = false;  // the segment's owner is on this host (short-circuit)
    if (impl_->options.short_circuit) {
      // The owner's cached pages, read here if it is on this host; the rest through gRPC.
      ALLUVIUM_ASSIGN_OR_RETURN(
          const Impl::HereRead here,
          impl_->ReadHere(*view, info, file_id, pos, segment_end, sink,
                          in_place == nullptr ? nullptr : in_place + (pos - offset)));
      served_here = here.owner_here;
      pos += here.bytes;
      stats.bytes += here.bytes;
      stats.bytes_from_cache += here.bytes;
      stats.bytes_short_circuit += here.bytes;
      if (pos >= segment_end) continue;
    }
    // Through the workers: the rest of this segment, or, with no worker of this host in the
    // way, every segment up to the next one such a worker owns, so that reading ahead carries
    // on across segments.
    uint64_t remote_end = segment_end;
    if (!impl_->options.short_circuit) {
      remote_end = end;
    } else if (!served_here) {
      while (remote_end < end && !impl_->LocalOwner(*view, info, remote_end / segment_size)) {
        remote_end = std::min(end, remote_end + segment_size);
      }
    }
    auto delivered = impl_->ReadRemote(*view, info, pos, remote_end, sink, stats, sink_status);
    if (!sink_status.ok()) return sink_status;
    if (!delivered.ok()) {
      // Changed or gone underneath: the next stat asks a worker again.
      const Code code = delivered.status().code();
      if (code == Code::kAborted || code == Code::kNotFound) impl_->metadata->Forget(info.uri);
      return delivered.status().WithContext(info.path);
    }
    reached_eof = *delivered < remote_end - pos;  // the file got shorter
    pos += *delivered;
  }
  return stats;
}

CacheRule Client::MetadataRule(std::string_view uri) { return impl_->filter->ForMetadata(uri); }

CacheRule Client::DataRule(std::string_view uri) { return impl_->filter->ForData(uri); }

void Client::DropMetadataCache() { impl_->metadata->Clear(); }

Status Client::Mount(std::string_view path, std::string_view ufs_uri,
                     const std::map<std::string, std::string>& options) {
  rpc::MountRequest request;
  request.mutable_mount()->set_path(std::string(path));
  request.mutable_mount()->set_ufs_uri(std::string(ufs_uri));
  request.mutable_mount()->mutable_options()->insert(options.begin(), options.end());
  rpc::MountResponse response;
  ALLUVIUM_RETURN_IF_ERROR(
      FromGrpc(impl_->coordinator->Mount(impl_->Context().get(), request, &response)));
  return impl_->View(true).status();
}

Status Client::Unmount(std::string_view path) {
  rpc::UnmountRequest request;
  request.set_path(std::string(path));
  rpc::UnmountResponse response;
  ALLUVIUM_RETURN_IF_ERROR(
      FromGrpc(impl_->coordinator->Unmount(impl_->Context().get(), request, &response)));
  return impl_->View(true).status();
}

Result<std::vector<MountInfo>> Client::ListMounts() {
  ALLUVIUM_ASSIGN_OR_RETURN(auto view, impl_->View(true));
  std::vector<MountInfo> out;
  for (const mounts::Mount& m : view->mounts.mounts()) {
    out.push_back({.path = m.path, .ufs_uri = m.ufs_uri, .options = m.options});
  }
  return out;
}

Result<std::vector<WorkerInfo>> Client::ListWorkers() {
  ALLUVIUM_ASSIGN_OR_RETURN(auto view, impl_->View(true));
  return view->workers;
}

Result<std::vector<SegmentLocation>> Client::Locate(std::string_view path, size_t owners) {
  ALLUVIUM_ASSIGN_OR_RETURN(FileInfo info, GetStatus(path));
  if (info.is_directory) return InvalidArgument(fmt::format("{} is a directory", info.path));
  ALLUVIUM_ASSIGN_OR_RETURN(auto view, impl_->View(false));
  std::vector<SegmentLocation> segments;
  rpc::CheckCachedRequest request;
  for (uint64_t offset = 0, s = 0; offset < info.length; offset += view->segment_size, ++s) {
    SegmentLocation& segment = segments.emplace_back();
    segment.index = s;
    segment.offset = offset;
    segment.length = std::min(view->segment_size, info.length - offset);
    rpc::LoadItem* item = request.add_items();
    item->mutable_status()->set_uri(info.uri);
    item->mutable_status()->set_length(info.length);
    item->mutable_status()->set_version(info.version);
    item->set_offset(segment.offset);
    item->set_length(segment.length);
  }
  std::map<std::string, std::string> id_of;  // address -> worker id
  for (const auto& [id, address] : view->address_of) id_of[address] = id;
  // What every live worker holds of each segment.
  std::map<std::string, std::vector<uint64_t>> held;
  for (const auto& [address, id] : id_of) {
    rpc::CheckCachedResponse response;
    Status st =
        FromGrpc(impl_->Worker(address).CheckCached(impl_->Context().get(), request, &response));
    if (!st.ok()) return st.WithContext(fmt::format("worker {} ({})", id, address));
    if (response.cached_bytes_size() != request.items_size()) {
      return InternalError(fmt::format("worker {} answered {} results for {} segments", address,
                                       response.cached_bytes_size(), request.items_size()));
    }
    held[address].assign(response.cached_bytes().begin(), response.cached_bytes().end());
  }
  for (SegmentLocation& segment : segments) {
    const std::vector<std::string> ranked = view->Candidates(info, segment.index, owners);
    for (size_t rank = 0; rank < ranked.size(); ++rank) {
      segment.holders.push_back({.worker_id = id_of[ranked[rank]],
                                 .address = ranked[rank],
                                 .cached_bytes = held[ranked[rank]][segment.index],
                                 .owner_rank = static_cast<int>(rank)});
    }
    for (const auto& [address, bytes] : held) {
      if (bytes[segment.index] == 0 ||
          std::find(ranked.begin(), ranked.end(), address) != ranked.end()) {
        continue;
      }
      segment.holders.push_back(
          {.worker_id = id_of[address], .address = address, .cached_bytes = bytes[segment.index]});
    }
  }
  return segments;
}

Result<std::string> Client::WorkerMetrics(std::string_view worker_address) {
  rpc::GetMetricsResponse response;
  ALLUVIUM_RETURN_IF_ERROR(FromGrpc(impl_->Worker(std::string(worker_address))
                                        .GetMetrics(impl_->Context().get(), {}, &response)));
  return response.prometheus_text();
}

}  // namespace alluvium::client
