#include "worker/worker_service.h"

#include "alluvium.grpc.pb.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/status_mapping.h"
#include "proto/cluster_security.h"
#include "proto/file_status_proto.h"
#include "proto/grpc_status.h"
#include "proto/read_chunk_wire.h"

namespace alluvium::worker {
namespace {

constexpr size_t kListBatch = 1000;  // entries per streamed ListStatus message
// Read's position among WorkerService's methods in alluvium.proto (the generated code numbers
// them so); worker_service_test reads through the generated stub, so a wrong index fails there.
constexpr int kReadMethodIndex = 0;

rpc::PageSource ToProtoSource(PageSource source) {
  return source == PageSource::kCache ? rpc::PAGE_SOURCE_CACHE : rpc::PAGE_SOURCE_UFS;
}

metrics::Counter& reads_with_status = metrics::NewCounter(
    "alluvium_worker_read_status_from_client_total",
    "Reads served with the file status the client sent, without looking it up.");

// The items as executor structs; kInvalidArgument, naming the item, for one the worker cannot
// act on: that is a coordinator bug, not a per-file outcome.
Result<std::vector<LoadItem>> ItemsFromProto(
    const google::protobuf::RepeatedPtrField<rpc::LoadItem>& in, uint64_t page_size) {
  std::vector<LoadItem> items;
  items.reserve(static_cast<size_t>(in.size()));
  for (int i = 0; i < in.size(); ++i) {
    const rpc::LoadItem& item = in[i];
    if (item.status().uri().empty()) {
      return InvalidArgument(fmt::format("load item {} has no uri", i));
    }
    if (item.offset() % page_size != 0) {
      return InvalidArgument(
          fmt::format("load item {} ({}): offset {} is not a multiple of the page size {}", i,
                      item.status().uri(), item.offset(), page_size));
    }
    if (item.length() > UINT64_MAX - item.offset()) {
      return InvalidArgument(fmt::format("load item {} ({}): offset {} + length {} overflows", i,
                                         item.status().uri(), item.offset(), item.length()));
    }
    items.push_back(
        {.status = FromProto(item.status()), .offset = item.offset(), .length = item.length()});
  }
  return items;
}

class WorkerServiceImpl final : public rpc::WorkerService::Service {
 public:
  explicit WorkerServiceImpl(WorkerServiceDeps deps) : deps_(deps) {
    // Read sends each page from the buffer it was read into, framed as a ReadChunk by hand
    // (proto/read_chunk_wire.h): through protobuf, a page would be copied twice more. The
    // generated code has no synchronous raw streaming, so Read is re-registered as its
    // WithSplitStreamingMethod_Read does it, with raw messages out.
    MarkMethodStreamed(
        kReadMethodIndex,
        new grpc::internal::SplitServerStreamingHandler<rpc::ReadRequest, grpc::ByteBuffer>(
            [this](grpc::ServerContext* context,
                   grpc::ServerSplitStreamer<rpc::ReadRequest, grpc::ByteBuffer>* stream) {
              return StreamedRead(context, stream);
            }));
  }

  grpc::Status StreamedRead(grpc::ServerContext* context,
                            grpc::ServerSplitStreamer<rpc::ReadRequest, grpc::ByteBuffer>* stream) {
    if (auto denied = rpc::Authenticate(*context, deps_.token); !denied.ok()) return denied;
    rpc::ReadRequest request;
    if (!stream->Read(&request)) {
      return ToGrpc(InvalidArgument("Read: the request did not arrive"));
    }
    const CacheRule data_rule = deps_.filter.ForData(request.uri());
    auto status = StatusForRead(request, data_rule);
    if (!status.ok()) return ToGrpc(status.status());
    if (status->is_directory) {
      return ToGrpc(InvalidArgument(fmt::format("{} is a directory", request.uri())));
    }
    rpc::FileStatus status_proto;
    ToProto(*status, &status_proto);
    const rpc::FileStatus* first_status = &status_proto;  // sent with the first chunk only
    // The message buffer the next cached page is read into: the page goes out as read.
    grpc::Slice next;
    auto buffer_for = [&](size_t length) {
      next = grpc::Slice(length);
      return std::span(reinterpret_cast<std::byte*>(const_cast<uint8_t*>(next.begin())), length);
    };
    // Sync writes block until gRPC has taken the message, so with one write in flight at a time
    // the worker holds about one page per reader.
    const grpc::WriteOptions write_options = grpc::WriteOptions().set_no_compression();
    Status st = deps_.reads.Read(
        *status, request.offset(), request.length(),
        [&](uint64_t offset, std::span<const std::byte> data, PageSource source) -> Status {
          if (context->IsCancelled()) return Cancelled("reader went away");
          grpc::Slice page;
          if (next.size() == data.size() &&
              reinterpret_cast<const std::byte*>(next.begin()) == data.data()) {
            page = std::move(next);
          } else {  // from the UFS, in ReadThrough's buffer
            page = grpc::Slice(data.data(), data.size());
          }
          const grpc::ByteBuffer message =
              rpc::EncodeReadChunk(offset, page, ToProtoSource(source), first_status);
          if (!stream->Write(message, write_options)) return Cancelled("reader went away");
          first_status = nullptr;
          return OkStatus();
        },
        data_rule.type != CacheRuleType::kSkipCache, buffer_for);
    if (st.code() == Code::kAborted || st.code() == Code::kNotFound) {
      // The UFS file is not the one the status names: the next GetStatus must ask the UFS.
      deps_.statuses.Forget(request.uri());
    }
    if (!st.ok()) return ToGrpc(st);
    if (first_status != nullptr) {  // empty range or past EOF: the reader still learns the status
      stream->Write(rpc::EncodeReadChunk(request.offset(), grpc::Slice(), rpc::PAGE_SOURCE_CACHE,
                                         first_status));
    }
    return grpc::Status::OK;
  }

  // The status the read serves. The reader's own (from GetStatus) is trusted, so a read of
  // cached data makes no lookup at all, unless the data rule is maxAge: then the version is
  // checked against the UFS once the cached status is older than the age, and a changed file
  // reaches the reader as a new status in the first chunk.
  Result<ufs::FileStatus> StatusForRead(const rpc::ReadRequest& request, const CacheRule& rule) {
    if (rule.type == CacheRuleType::kMaxAge) return deps_.statuses.Get(request.uri(), rule.max_age);
    if (request.has_status() && request.status().uri() == request.uri()) {
      reads_with_status.Increment();
      return FromProto(request.status());
    }
    return deps_.statuses.Get(request.uri());
  }

  grpc::Status Load(grpc::ServerContext* context, const rpc::LoadRequest* request,
                    rpc::LoadResponse* response) override {
    if (auto denied = rpc::Authenticate(*context, deps_.token); !denied.ok()) return denied;
    LoadBatch batch;
    {
      auto items = ItemsFromProto(request->items(), deps_.store.page_size());
      if (!items.ok()) return ToGrpc(items.status());
      batch.items = std::move(*items);
    }
    batch.job_id = request->job_id();
    batch.metadata_only = request->metadata_only();
    batch.skip_if_exists = request->skip_if_exists();
    batch.bandwidth = request->bandwidth_bytes_per_sec();
    batch.pin = request->pin();
    // Deadline passed or caller gone: gRPC marks the call cancelled; stop loading for it.
    const std::vector<ItemResult> results =
        deps_.loads.Run(batch, {}, [context] { return context->IsCancelled(); });
    response->mutable_results()->Reserve(static_cast<int>(results.size()));
    for (const ItemResult& r : results) {
      rpc::LoadItemResult* out = response->add_results();
      out->set_code(CodeToWire(r.status.code()));
      if (!r.status.ok()) out->set_message(r.status.message());
      out->set_bytes_loaded(r.bytes_loaded);
      out->set_bytes_skipped(r.bytes_skipped);
    }
    return grpc::Status::OK;
  }

  grpc::Status CheckCached(grpc::ServerContext* context, const rpc::CheckCachedRequest* request,
                           rpc::CheckCachedResponse* response) override {
    if (auto denied = rpc::Authenticate(*context, deps_.token); !denied.ok()) return denied;
    auto items = ItemsFromProto(request->items(), deps_.store.page_size());
    if (!items.ok()) return ToGrpc(items.status());
    const std::vector<uint64_t> cached = deps_.loads.CachedBytes(*items);
    response->mutable_fully_cached()->Reserve(static_cast<int>(cached.size()));
    response->mutable_cached_bytes()->Reserve(static_cast<int>(cached.size()));
    for (size_t i = 0; i < cached.size(); ++i) {
      const LoadItem& item = (*items)[i];
      const uint64_t end = std::min(item.offset + item.length, item.status.length);
      response->add_fully_cached(item.status.is_directory ||
                                 cached[i] >= end - std::min(end, item.offset));
      response->add_cached_bytes(cached[i]);
    }
    return grpc::Status::OK;
  }

  grpc::Status EndLoad(grpc::ServerContext* context, const rpc::EndLoadRequest* request,
                       rpc::EndLoadResponse* response) override {
    if (auto denied = rpc::Authenticate(*context, deps_.token); !denied.ok()) return denied;
    response->set_unpinned_bytes(deps_.loads.EndJob(request->job_id()));
    return grpc::Status::OK;
  }

  grpc::Status GetStatus(grpc::ServerContext* context, const rpc::GetStatusRequest* request,
                         rpc::FileStatus* response) override {
    if (auto denied = rpc::Authenticate(*context, deps_.token); !denied.ok()) return denied;
    auto status = deps_.statuses.Get(request->uri());
    if (!status.ok()) return ToGrpc(status.status());
    ToProto(*status, response);
    return grpc::Status::OK;
  }

  grpc::Status ListStatus(grpc::ServerContext* context, const rpc::ListStatusRequest* request,
                          grpc::ServerWriter<rpc::ListStatusResponse>* writer) override {
    if (auto denied = rpc::Authenticate(*context, deps_.token); !denied.ok()) return denied;
    auto fs = deps_.ufs.For(request->uri());
    if (!fs.ok()) return ToGrpc(fs.status());
    auto it = (*fs)->List(request->uri(), {.recursive = request->recursive()});
    if (!it.ok()) return ToGrpc(it.status());
    rpc::ListStatusResponse batch;
    // Asked once a batch: IsCancelled takes a lock inside gRPC, once an entry it doubled the
    // cost of listing a directory.
    while (batch.entries_size() != 0 || !context->IsCancelled()) {
      auto entry = (*it)->Next();
      if (!entry.ok()) return ToGrpc(entry.status());
      if (!entry->has_value()) break;
      ToProto(**entry, batch.add_entries());
      if (static_cast<size_t>(batch.entries_size()) >= kListBatch) {
        if (!writer->Write(batch)) return grpc::Status::CANCELLED;
        batch.clear_entries();
      }
    }
    if (batch.entries_size() > 0) writer->Write(batch);
    return grpc::Status::OK;
  }

  grpc::Status Describe(grpc::ServerContext* context, const rpc::DescribeRequest*,
                        rpc::WorkerDescription* response) override {
    if (auto denied = rpc::Authenticate(*context, deps_.token); !denied.ok()) return denied;
    response->set_id(deps_.worker_id);
    response->set_short_circuit_socket(deps_.short_circuit_socket);
    return grpc::Status::OK;
  }

  grpc::Status GetMetrics(grpc::ServerContext* context, const rpc::GetMetricsRequest*,
                          rpc::GetMetricsResponse* response) override {
    if (auto denied = rpc::Authenticate(*context, deps_.token); !denied.ok()) return denied;
    response->set_prometheus_text(metrics::RenderPrometheus());
    return grpc::Status::OK;
  }

 private:
  WorkerServiceDeps deps_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewWorkerService(WorkerServiceDeps deps) {
  return std::make_unique<WorkerServiceImpl>(deps);
}

}  // namespace alluvium::worker
