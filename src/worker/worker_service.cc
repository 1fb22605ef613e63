#include "worker/worker_service.h"

#include "alluvium.grpc.pb.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "proto/grpc_status.h"

namespace alluvium::worker {
namespace {

constexpr size_t kListBatch = 1000;  // entries per streamed ListStatus message

void ToProto(const ufs::FileStatus& in, rpc::FileStatus* out) {
  out->set_uri(in.uri);
  out->set_is_directory(in.is_directory);
  out->set_length(in.length);
  out->set_mtime_ms(in.mtime_ms);
  out->set_version(in.version);
}

class WorkerServiceImpl final : public rpc::WorkerService::Service {
 public:
  explicit WorkerServiceImpl(WorkerServiceDeps deps) : deps_(deps) {}

  grpc::Status Read(grpc::ServerContext* context, const rpc::ReadRequest* request,
                    grpc::ServerWriter<rpc::ReadChunk>* writer) override {
    auto status = deps_.statuses.Get(request->uri());
    if (!status.ok()) return ToGrpc(status.status());
    if (status->is_directory) {
      return ToGrpc(InvalidArgument(fmt::format("{} is a directory", request->uri())));
    }
    rpc::ReadChunk chunk;
    ToProto(*status, chunk.mutable_status());
    bool sent_any = false;
    Status st = deps_.reads.Read(
        *status, request->offset(), request->length(),
        [&](uint64_t offset, std::span<const std::byte> data, PageSource source) -> Status {
          if (context->IsCancelled()) return Cancelled("reader went away");
          chunk.set_offset(offset);
          chunk.set_data(reinterpret_cast<const char*>(data.data()), data.size());
          chunk.set_source(source == PageSource::kCache ? rpc::PAGE_SOURCE_CACHE
                                                        : rpc::PAGE_SOURCE_UFS);
          if (!writer->Write(chunk)) return Cancelled("reader went away");
          chunk.clear_status();
          sent_any = true;
          return OkStatus();
        });
    if (!st.ok()) return ToGrpc(st);
    if (!sent_any) {  // empty range or past EOF: the reader still learns the status
      chunk.set_offset(request->offset());
      writer->Write(chunk);
    }
    return grpc::Status::OK;
  }

  grpc::Status GetStatus(grpc::ServerContext*, const rpc::GetStatusRequest* request,
                         rpc::FileStatus* response) override {
    auto status = deps_.statuses.Get(request->uri());
    if (!status.ok()) return ToGrpc(status.status());
    ToProto(*status, response);
    return grpc::Status::OK;
  }

  grpc::Status ListStatus(grpc::ServerContext* context, const rpc::ListStatusRequest* request,
                          grpc::ServerWriter<rpc::ListStatusResponse>* writer) override {
    auto fs = deps_.ufs.For(request->uri());
    if (!fs.ok()) return ToGrpc(fs.status());
    auto it = (*fs)->List(request->uri(), {.recursive = request->recursive()});
    if (!it.ok()) return ToGrpc(it.status());
    rpc::ListStatusResponse batch;
    while (!context->IsCancelled()) {
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

  grpc::Status GetMetrics(grpc::ServerContext*, const rpc::GetMetricsRequest*,
                          rpc::GetMetricsResponse* response) override {
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
