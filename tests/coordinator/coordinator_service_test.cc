// The coordinator's gRPC service against a real (127.0.0.1) server: ClusterInfo carries mount
// options with their secrets masked, GetMountOptions answers one root's options whole, and the
// worker's MountOptionsSource gets its credentials from the latter.
#include "coordinator/coordinator_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "alluvium.grpc.pb.h"
#include "coordinator/store/kv_store.h"
#include "proto/channel.h"
#include "testing/scoped_temp_dir.h"
#include "worker/mount_options_source.h"

namespace alluvium::coordinator {
namespace {

constexpr char kSecret[] = "PLANTED-UNIT-SECRET";

class CoordinatorServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = KvStore::Open(dir_.path() / "store");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto mounts = MountManager::Open(*store_, "file:///srv/root", "");
    ASSERT_TRUE(mounts.ok()) << mounts.status();
    mounts_ = std::move(*mounts);
    ASSERT_TRUE(mounts_
                    ->Mount({.path = "/s3",
                             .ufs_uri = "s3://bucket/prefix",
                             .options = {{"alluvium.underfs.s3.endpoint", "http://127.0.0.1:1"},
                                         {"s3a.accessKeyId", "AKID"},
                                         {"s3a.secretKey", kSecret},
                                         {"alluvium.underfs.s3.session.token", kSecret}}})
                    .ok());
    service_ = NewCoordinatorService({workers_, *mounts_, RingSettings{}});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = rpc::CoordinatorService::NewStub(rpc::NewChannel(address()));
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  testing::ScopedTempDir dir_;
  std::unique_ptr<KvStore> store_;
  std::unique_ptr<MountManager> mounts_;
  WorkerRegistry workers_{std::chrono::seconds(3)};
  std::unique_ptr<grpc::Service> service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<rpc::CoordinatorService::Stub> stub_;
};

TEST_F(CoordinatorServiceTest, ClusterInfoShowsWhichOptionsAreSetButNoSecret) {
  grpc::ClientContext context;
  rpc::ClusterInfo info;
  ASSERT_TRUE(stub_->GetClusterInfo(&context, {}, &info).ok());
  EXPECT_EQ(info.DebugString().find(kSecret), std::string::npos) << info.DebugString();
  const rpc::MountPoint* s3 = nullptr;
  for (const rpc::MountPoint& m : info.mounts()) {
    if (m.path() == "/s3") s3 = &m;
  }
  ASSERT_NE(s3, nullptr);
  EXPECT_EQ(s3->options().at("s3a.secretKey"), "******");
  EXPECT_EQ(s3->options().at("alluvium.underfs.s3.session.token"), "******");
  EXPECT_EQ(s3->options().at("s3a.accessKeyId"), "AKID");
  EXPECT_EQ(s3->options().at("alluvium.underfs.s3.endpoint"), "http://127.0.0.1:1");
}

TEST_F(CoordinatorServiceTest, GetMountOptionsAnswersOneRootsOptionsWhole) {
  {
    grpc::ClientContext context;
    rpc::GetMountOptionsRequest request;
    request.set_ufs_root("s3://bucket");
    rpc::MountOptions options;
    ASSERT_TRUE(stub_->GetMountOptions(&context, request, &options).ok());
    EXPECT_EQ(options.properties().size(), 4u);
    EXPECT_EQ(options.properties().at("s3a.secretKey"), kSecret);
  }
  {
    grpc::ClientContext context;  // another root: nothing of this mount's
    rpc::GetMountOptionsRequest request;
    request.set_ufs_root("s3://other-bucket");
    rpc::MountOptions options;
    ASSERT_TRUE(stub_->GetMountOptions(&context, request, &options).ok());
    EXPECT_TRUE(options.properties().empty());
  }
  grpc::ClientContext context;
  rpc::GetMountOptionsRequest request;
  request.set_ufs_root("bucket");
  rpc::MountOptions options;
  EXPECT_EQ(stub_->GetMountOptions(&context, request, &options).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(CoordinatorServiceTest, WorkersGetTheMountsCredentialsOverTheirConfiguration) {
  auto source = worker::MountOptionsSource(
      address(), {{"alluvium.underfs.s3.region", "eu-west-1"}, {"s3a.secretKey", "CONFIGURED"}});
  auto options = source("s3://bucket");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->properties.at("s3a.secretKey"), kSecret);
  EXPECT_EQ(options->properties.at("s3a.accessKeyId"), "AKID");
  EXPECT_EQ(options->properties.at("alluvium.underfs.s3.region"), "eu-west-1");
  auto local = source("file://");
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ(local->properties.at("s3a.secretKey"), "CONFIGURED");  // the configuration alone
}

}  // namespace
}  // namespace alluvium::coordinator
