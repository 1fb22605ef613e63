// The worker's Read RPC against an in-process gRPC server: which status a read serves (the
// client's, or one looked up) and how the cache filter's data rules apply to pages.
#include "worker/worker_service.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "alluvium.grpc.pb.h"
#include "common/cache_filter.h"
#include "metastore/meta_store.h"
#include "pagestore/page_store.h"
#include "proto/file_status_proto.h"
#include "testing/scoped_temp_dir.h"
#include "ufs/local_ufs.h"
#include "worker/counting_ufs.h"
#include "worker/load_executor.h"
#include "worker/read_through.h"
#include "worker/status_cache.h"
#include "worker/ufs_registry.h"

namespace alluvium::worker {
namespace {

namespace fs = std::filesystem;
using ::alluvium::testing::ScopedTempDir;
using ::alluvium::worker::testing::CountingFileSystem;

constexpr uint64_t kPage = 4096;

struct ReadResult {
  grpc::Status status;
  std::string data;
  int chunks_from_cache = 0;
  int chunks_from_ufs = 0;
  std::string first_version;  // of the status in the first chunk
};

class WorkerServiceTest : public ::testing::Test {
 protected:
  // Starts the service with these cache filter rules (empty: the default, all immutable).
  void Start(std::string_view rules = "") {
    auto counting = std::make_unique<CountingFileSystem>(std::make_unique<ufs::LocalFileSystem>());
    ufs_ = counting.get();
    registry_.Install("file://", std::move(counting));
    auto store = pagestore::PageStore::Open(
        {.page_size = kPage, .dirs = {store_dir_.path()}, .capacity_bytes = 64 * kPage});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto meta = metastore::MetaStore::Open(meta_dir_.path() / "meta");
    ASSERT_TRUE(meta.ok()) << meta.status();
    meta_ = std::move(*meta);
    CacheFilterPolicy policy;
    if (!rules.empty()) {
      auto parsed = CacheFilterPolicy::Parse(rules);
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      policy = std::move(*parsed);
    }
    filter_ = std::make_unique<CacheFilter>(std::move(policy));
    statuses_ = std::make_unique<StatusCache>(*meta_, registry_, *filter_);
    reads_ = std::make_unique<ReadThrough>(*store_, registry_);
    loads_ = std::make_unique<LoadExecutor>(LoadExecutorOptions{}, *store_, registry_, *meta_);
    service_ = NewWorkerService({*store_, registry_, *statuses_, *reads_, *loads_, *filter_});
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = rpc::WorkerService::NewStub(server_->InProcessChannel({}));
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  // Writes a UFS file; returns its status, taken without touching the counters.
  ufs::FileStatus MakeFile(const std::string& name, size_t size, char fill = 'x') {
    const fs::path path = ufs_dir_.path() / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << std::string(size, fill);
    auto status = ufs::LocalFileSystem().GetStatus("file://" + path.string());
    EXPECT_TRUE(status.ok()) << status.status();
    return status.ok() ? *status : ufs::FileStatus{};
  }

  // Reads the whole file, sending `status` in the request if given.
  ReadResult Read(const std::string& uri, const ufs::FileStatus* status) {
    rpc::ReadRequest request;
    request.set_uri(uri);
    request.set_length(UINT64_MAX);
    if (status != nullptr) ToProto(*status, request.mutable_status());
    grpc::ClientContext context;
    auto reader = stub_->Read(&context, request);
    ReadResult out;
    rpc::ReadChunk chunk;
    while (reader->Read(&chunk)) {
      if (chunk.has_status() && out.first_version.empty()) {
        out.first_version = chunk.status().version();
      }
      if (chunk.data().empty()) continue;
      out.data += chunk.data();
      (chunk.source() == rpc::PAGE_SOURCE_CACHE ? out.chunks_from_cache : out.chunks_from_ufs)++;
    }
    out.status = reader->Finish();
    return out;
  }

  ScopedTempDir ufs_dir_, store_dir_, meta_dir_;
  UfsRegistry registry_;
  CountingFileSystem* ufs_ = nullptr;  // owned by registry_
  std::unique_ptr<pagestore::PageStore> store_;
  std::unique_ptr<metastore::MetaStore> meta_;
  std::unique_ptr<CacheFilter> filter_;
  std::unique_ptr<StatusCache> statuses_;
  std::unique_ptr<ReadThrough> reads_;
  std::unique_ptr<LoadExecutor> loads_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<rpc::WorkerService::Stub> stub_;
};

TEST_F(WorkerServiceTest, AReadCarryingItsStatusMakesNoStatusLookup) {
  Start();
  const ufs::FileStatus file = MakeFile("a.bin", 3 * kPage);
  ReadResult first = Read(file.uri, &file);
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  EXPECT_EQ(first.data, std::string(3 * kPage, 'x'));
  EXPECT_EQ(first.first_version, file.version);
  EXPECT_EQ(ufs_->get_status_calls.load(), 0);
  EXPECT_EQ(meta_->Get(file.uri).status().code(), Code::kNotFound);  // never looked up

  const int opens = ufs_->open_calls.load();
  ReadResult again = Read(file.uri, &file);  // cached now: nothing reaches the UFS
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_EQ(again.chunks_from_cache, 3);
  EXPECT_EQ(ufs_->get_status_calls.load(), 0);
  EXPECT_EQ(ufs_->open_calls.load(), opens);
}

TEST_F(WorkerServiceTest, AReadWithoutAStatusLooksItUpOnceThenServesItFromTheStore) {
  Start();
  const ufs::FileStatus file = MakeFile("a.bin", kPage);
  ASSERT_TRUE(Read(file.uri, nullptr).status.ok());
  ASSERT_TRUE(Read(file.uri, nullptr).status.ok());
  EXPECT_EQ(ufs_->get_status_calls.load(), 1);  // immutable: asked once, then the store
}

TEST_F(WorkerServiceTest, AStatusForAnotherUriIsIgnored) {
  Start();
  const ufs::FileStatus a = MakeFile("a.bin", kPage, 'a');
  const ufs::FileStatus b = MakeFile("b.bin", 2 * kPage, 'b');
  ReadResult got = Read(a.uri, &b);
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();
  EXPECT_EQ(got.data, std::string(kPage, 'a'));
  EXPECT_EQ(ufs_->get_status_calls.load(), 1);
}

TEST_F(WorkerServiceTest, AStaleStatusFailsAbortedAndDropsTheCachedOne) {
  Start();
  const ufs::FileStatus old = MakeFile("a.bin", kPage, 'a');
  ASSERT_TRUE(statuses_->Get(old.uri).ok());
  MakeFile("a.bin", 2 * kPage, 'b');  // rewritten: another size, another version

  ReadResult got = Read(old.uri, &old);
  EXPECT_EQ(got.status.error_code(), grpc::StatusCode::ABORTED) << got.status.error_message();
  // The next GetStatus asks the UFS and learns the new version.
  EXPECT_EQ(meta_->Get(old.uri).status().code(), Code::kNotFound);
  auto now = statuses_->Get(old.uri);
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_EQ(now->length, 2 * kPage);
}

TEST_F(WorkerServiceTest, SkipCacheDataIsReadFromTheUfsEveryTimeAndNeverStored) {
  Start(R"({"apiVersion": 1, "data": {"skipCache": [".*/live/.*"]}})");
  const ufs::FileStatus file = MakeFile("live/a.bin", 2 * kPage);
  for (int i = 0; i < 2; ++i) {
    ReadResult got = Read(file.uri, &file);
    ASSERT_TRUE(got.status.ok()) << got.status.error_message();
    EXPECT_EQ(got.data, std::string(2 * kPage, 'x'));
    EXPECT_EQ(got.chunks_from_ufs, 2);
  }
  EXPECT_EQ(store_->stats().pages, 0u);
  EXPECT_EQ(ufs_->get_status_calls.load(), 0);  // the status rule is metadata's: immutable
}

TEST_F(WorkerServiceTest, MaxAgeDataChecksTheVersionOnceTheCachedStatusIsOlder) {
  Start(R"({"apiVersion": 1, "data": {"maxAge": {".*": 0}}})");  // always older than 0 ms
  const ufs::FileStatus old = MakeFile("a.bin", kPage, 'a');
  ASSERT_TRUE(Read(old.uri, &old).status.ok());
  EXPECT_EQ(ufs_->get_status_calls.load(), 1);  // the client's status is not trusted
  const ufs::FileStatus now = MakeFile("a.bin", 2 * kPage, 'b');

  ReadResult got = Read(old.uri, &old);
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();
  EXPECT_EQ(got.first_version, now.version);  // the client sees the change and retries
  EXPECT_EQ(got.data, std::string(2 * kPage, 'b'));
  EXPECT_EQ(ufs_->get_status_calls.load(), 2);
}

}  // namespace
}  // namespace alluvium::worker
