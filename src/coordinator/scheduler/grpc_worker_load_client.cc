#include "coordinator/scheduler/grpc_worker_load_client.h"

#include <map>
#include <mutex>

#include <grpcpp/grpcpp.h>

#include "alluvium.grpc.pb.h"
#include "common/status_mapping.h"
#include "proto/channel.h"
#include "proto/file_status_proto.h"
#include "proto/grpc_status.h"

namespace alluvium::coordinator {
namespace {

void ToProto(const SegmentRef& in, rpc::LoadItem* out) {
  alluvium::ToProto(in.status, out->mutable_status());
  out->set_offset(in.offset);
  out->set_length(in.length);
}

}  // namespace

struct GrpcWorkerLoadClient::Stubs {
  explicit Stubs(SecuritySettings s) : security(std::move(s)) {}

  const SecuritySettings security;
  std::mutex mu;
  std::map<std::string, std::unique_ptr<rpc::WorkerService::Stub>> by_address;  // guarded by mu
  std::multimap<std::string, grpc::ClientContext*> in_flight;                   // guarded by mu

  // Registers a call's context for CancelCalls while it is in flight.
  class Tracked {
   public:
    Tracked(Stubs& stubs, const std::string& address, grpc::ClientContext& context)
        : stubs_(stubs) {
      std::lock_guard lock(stubs_.mu);
      it_ = stubs_.in_flight.emplace(address, &context);
    }
    ~Tracked() {
      std::lock_guard lock(stubs_.mu);
      stubs_.in_flight.erase(it_);
    }
    Tracked(const Tracked&) = delete;
    Tracked& operator=(const Tracked&) = delete;

   private:
    Stubs& stubs_;
    std::multimap<std::string, grpc::ClientContext*>::iterator it_;
  };

  rpc::WorkerService::Stub& For(const std::string& address) {
    std::lock_guard lock(mu);
    auto& stub = by_address[address];
    if (!stub) {
      stub = rpc::WorkerService::NewStub(rpc::NewChannel(address, {.security = security}));
    }
    return *stub;
  }
};

GrpcWorkerLoadClient::GrpcWorkerLoadClient(SecuritySettings security)
    : stubs_(std::make_unique<Stubs>(std::move(security))) {}

GrpcWorkerLoadClient::~GrpcWorkerLoadClient() = default;

Result<std::vector<ItemOutcome>> GrpcWorkerLoadClient::Load(const std::string& address,
                                                            const LoadCall& call,
                                                            std::chrono::milliseconds timeout,
                                                            std::stop_token cancel) {
  rpc::LoadRequest request;
  request.set_job_id(call.job_id);
  request.set_metadata_only(call.metadata_only);
  request.set_skip_if_exists(call.skip_if_exists);
  request.set_bandwidth_bytes_per_sec(call.bandwidth);
  request.set_pin(call.pin);
  for (const SegmentRef& item : call.items) ToProto(item, request.add_items());
  rpc::LoadResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  Stubs::Tracked tracked(*stubs_, address, context);
  // Before the call starts too: gRPC then cancels it as soon as it does.
  const std::stop_callback on_cancel(cancel, [&context] { context.TryCancel(); });
  ALLUVIUM_RETURN_IF_ERROR(FromGrpc(stubs_->For(address).Load(&context, request, &response)));
  if (response.results_size() != request.items_size()) {
    return InternalError(fmt::format("worker {} answered {} results for {} items", address,
                                     response.results_size(), request.items_size()));
  }
  std::vector<ItemOutcome> out;
  out.reserve(response.results_size());
  for (const rpc::LoadItemResult& r : response.results()) {
    ItemOutcome outcome{.bytes_loaded = r.bytes_loaded(), .bytes_skipped = r.bytes_skipped()};
    outcome.status = StatusFromWire(r.code(), r.message());
    out.push_back(std::move(outcome));
  }
  return out;
}

void GrpcWorkerLoadClient::CancelCalls(const std::string& address) {
  std::lock_guard lock(stubs_->mu);
  auto [begin, end] = stubs_->in_flight.equal_range(address);
  for (auto it = begin; it != end; ++it) it->second->TryCancel();  // thread-safe in gRPC
}

Result<std::vector<uint64_t>> GrpcWorkerLoadClient::CachedBytes(
    const std::string& address, const std::vector<SegmentRef>& items,
    std::chrono::milliseconds timeout, std::stop_token cancel) {
  rpc::CheckCachedRequest request;
  for (const SegmentRef& item : items) ToProto(item, request.add_items());
  rpc::CheckCachedResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  Stubs::Tracked tracked(*stubs_, address, context);
  // Before the call starts too: gRPC then cancels it as soon as it does.
  const std::stop_callback on_cancel(cancel, [&context] { context.TryCancel(); });
  ALLUVIUM_RETURN_IF_ERROR(
      FromGrpc(stubs_->For(address).CheckCached(&context, request, &response)));
  if (response.cached_bytes_size() != request.items_size()) {
    return InternalError(fmt::format("worker {} answered {} results for {} items", address,
                                     response.cached_bytes_size(), request.items_size()));
  }
  return std::vector<uint64_t>(response.cached_bytes().begin(), response.cached_bytes().end());
}

Result<uint64_t> GrpcWorkerLoadClient::EndLoad(const std::string& address,
                                               const std::string& job_id,
                                               std::chrono::milliseconds timeout) {
  rpc::EndLoadRequest request;
  request.set_job_id(job_id);
  rpc::EndLoadResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  ALLUVIUM_RETURN_IF_ERROR(FromGrpc(stubs_->For(address).EndLoad(&context, request, &response)));
  return response.unpinned_bytes();
}

}  // namespace alluvium::coordinator
