// The cluster's gRPC security end to end: a cluster token every process must present, TLS (and
// mutual TLS) on every connection, and the cluster identity that keeps a worker of another
// cluster out of the ring. Real processes on 127.0.0.1, a certificate made per run.
#include <sys/stat.h>

#include <fstream>

#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "alluvium.grpc.pb.h"
#include "integration/local_cluster.h"
#include "proto/channel.h"
#include "proto/grpc_status.h"
#include "testing/eventually.h"
#include "testing/self_signed_cert.h"

namespace alluvium::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kToken[] = "4f1c0ffee-cluster-token";

// Calls `method` (/package.Service/Method) with an empty request over `channel`; its status.
Status CallEmpty(const std::shared_ptr<grpc::Channel>& channel, const std::string& method) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 10s);
  grpc::CompletionQueue queue;
  grpc::Slice empty_message(std::string{});  // an empty protobuf: a message of no bytes
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
      stub.PrepareUnaryCall(&context, method, grpc::ByteBuffer(&empty_message, 1), &queue);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status result;
  call->Finish(&response, &result, &queue);
  void* tag = nullptr;
  bool ok = false;
  queue.Next(&tag, &ok);
  return FromGrpc(result);
}

// Every method of `service` (its full proto name), called without the token, is refused.
void ExpectEveryMethodRefused(const std::shared_ptr<grpc::Channel>& channel,
                              const std::string& service) {
  const auto* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
  ASSERT_NE(descriptor, nullptr) << service;
  for (int m = 0; m < descriptor->method_count(); ++m) {
    const std::string method = fmt::format("/{}/{}", service, descriptor->method(m)->name());
    const Status st = CallEmpty(channel, method);
    EXPECT_EQ(st.code(), Code::kUnauthenticated) << method << ": " << st;
  }
}

class ClusterTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_file_ = secrets_.path() / "token";
    std::ofstream(token_file_) << kToken << "\n";
    cluster_ = std::make_unique<LocalCluster>(LocalClusterOptions{
        .workers = 2, .conf = {"alluvium.security.token.file=" + token_file_.string()}});
    const Status started = cluster_->Start();  // workers presenting the token join
    ASSERT_TRUE(started.ok()) << started;
  }

  std::string WorkerAddress() {
    std::ifstream in(cluster_->worker_dir(0) / "rpc.port");
    std::string port;
    in >> port;
    return "127.0.0.1:" + port;
  }

  ScopedTempDir secrets_;
  std::filesystem::path token_file_;
  std::unique_ptr<LocalCluster> cluster_;
};

TEST_F(ClusterTokenTest, ClientsWithTheTokenReadAndEveryCallWithoutItIsRefused) {
  const std::string data = WriteRandomFile(cluster_->ufs_root() / "t/f", 300'000, 7);
  auto client = cluster_->NewClient();
  ASSERT_TRUE(client.ok()) << client.status();
  ReadBackAndCompare(**client, {{"/t/f", data}});  // through the workers, token and all

  client::ClientOptions wrong = cluster_->ClientOptions();
  wrong.security.token = "not-the-token";
  auto refused = client::Client::Connect(wrong);
  EXPECT_EQ(refused.status().code(), Code::kUnauthenticated) << refused.status();
  EXPECT_EQ(refused.status().message().find(kToken), std::string::npos) << "never the token";
  client::ClientOptions none = cluster_->ClientOptions();
  none.security.token.clear();
  EXPECT_EQ(client::Client::Connect(none).status().code(), Code::kUnauthenticated);

  // The short-circuit socket does not check the token: only the workers' own user may use it.
  struct stat socket_stat {};
  ASSERT_EQ(::stat((cluster_->worker_dir(0) / "short-circuit.sock").c_str(), &socket_stat), 0);
  EXPECT_EQ(socket_stat.st_mode & 0777, 0600u);

  // Every RPC of both services, the workers' reads and loads included, asks for it first.
  const auto coordinator = rpc::NewChannel(cluster_->ClientOptions().coordinator_address);
  ExpectEveryMethodRefused(coordinator, "alluvium.rpc.CoordinatorService");
  ExpectEveryMethodRefused(rpc::NewChannel(WorkerAddress()), "alluvium.rpc.WorkerService");
  // With a wrong token too: GetMountOptions (credentials) answers nothing.
  rpc::ChannelOptions wrong_channel;
  wrong_channel.security.token = "not-the-token";
  const Status mount_options =
      CallEmpty(rpc::NewChannel(cluster_->ClientOptions().coordinator_address, wrong_channel),
                "/alluvium.rpc.CoordinatorService/GetMountOptions");
  EXPECT_EQ(mount_options.code(), Code::kUnauthenticated) << mount_options;
}

TEST_F(ClusterTokenTest, AWorkerWithoutTheTokenIsRefusedAndSaysSo) {
  cluster_->SignalWorker(1, SIGKILL);
  std::ofstream(token_file_) << "another-token\n";  // worker 1 now presents the wrong one
  ASSERT_TRUE(cluster_->SpawnWorker(1).ok());
  EXPECT_TRUE(Eventually(
      [&] {
        std::ifstream in(cluster_->worker_log(1));
        std::string log((std::istreambuf_iterator<char>(in)), {});
        return log.find("refuses this worker") != std::string::npos &&
               log.find("wrong cluster token") != std::string::npos;
      },
      30s));
  std::ofstream(token_file_) << kToken << "\n";
  EXPECT_TRUE(cluster_->WaitForLiveWorkers(1, 10s).ok()) << "only worker 0 is in the ring";
}

class ClusterTlsTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    const auto key = secrets_.path() / "key.pem", cert = secrets_.path() / "cert.pem";
    ASSERT_TRUE(WriteSelfSignedCertificate(key, cert).ok());
    std::ofstream(secrets_.path() / "token") << kToken << "\n";
    cluster_ = std::make_unique<LocalCluster>(LocalClusterOptions{
        .workers = 2,
        .conf = {"alluvium.security.tls.enabled=true",
                 "alluvium.security.tls.cert.file=" + cert.string(),
                 "alluvium.security.tls.key.file=" + key.string(),
                 // The certificate is its own CA: one made for this run.
                 "alluvium.security.tls.ca.file=" + cert.string(),
                 fmt::format("alluvium.security.tls.client.auth={}", GetParam()),
                 "alluvium.security.token.file=" + (secrets_.path() / "token").string()}});
    const Status started = cluster_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }

  ScopedTempDir secrets_;
  std::unique_ptr<LocalCluster> cluster_;
};

TEST_P(ClusterTlsTest, EveryConnectionIsTlsAndPlainClientsAreRefused) {
  const std::string data = WriteRandomFile(cluster_->ufs_root() / "tls/f", 700'000, 9);
  // Remote reads (gRPC, not short-circuit) go over TLS to the workers.
  auto client = cluster_->NewClient(/*short_circuit=*/false);
  ASSERT_TRUE(client.ok()) << client.status();
  ReadBackAndCompare(**client, {{"/tls/f", data}});

  client::ClientOptions plain = cluster_->ClientOptions();
  plain.security.tls = false;
  plain.rpc_timeout = 5s;
  EXPECT_FALSE(client::Client::Connect(plain).ok()) << "a plaintext client gets nowhere";

  client::ClientOptions untrusting = cluster_->ClientOptions();
  untrusting.security.tls_settings.ca_pem.clear();  // the system's CAs: not this certificate
  untrusting.rpc_timeout = 5s;
  EXPECT_FALSE(client::Client::Connect(untrusting).ok());

  if (GetParam()) {  // mutual TLS: a client without a certificate is refused too
    client::ClientOptions anonymous = cluster_->ClientOptions();
    anonymous.security.tls_settings.cert_pem.clear();
    anonymous.security.tls_settings.key_pem.clear();
    anonymous.rpc_timeout = 5s;
    EXPECT_FALSE(client::Client::Connect(anonymous).ok());
  }
}

INSTANTIATE_TEST_SUITE_P(ServerOnlyAndMutual, ClusterTlsTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Mutual" : "ServerOnly"; });

class ClusterIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<LocalCluster>(LocalClusterOptions{.workers = 2});
    const Status started = cluster_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }
  std::unique_ptr<LocalCluster> cluster_;
};

TEST_F(ClusterIdentityTest, AWorkerOfAnotherClusterIsRefusedNamingBoth) {
  // Every worker has kept the id of the cluster it joined.
  std::string id;
  std::ifstream(cluster_->worker_dir(0) / "cluster.id") >> id;
  ASSERT_TRUE(id.starts_with("cluster-")) << id;

  // Worker 1's data dir now says it belongs to another cluster (as a second cluster's worker
  // pointed at this coordinator would): it is kept out of the ring, and its log names both.
  cluster_->SignalWorker(1, SIGKILL);
  ASSERT_TRUE(cluster_->WaitForLiveWorkers(1, 20s).ok());
  std::ofstream(cluster_->worker_dir(1) / "cluster.id") << "cluster-elsewhere\n";
  ASSERT_TRUE(cluster_->SpawnWorker(1).ok());
  EXPECT_TRUE(Eventually(
      [&] {
        std::ifstream in(cluster_->worker_log(1));
        std::string log((std::istreambuf_iterator<char>(in)), {});
        return log.find("belongs to cluster cluster-elsewhere") != std::string::npos &&
               log.find("this coordinator is cluster " + id) != std::string::npos;
      },
      30s));
  auto client = cluster_->NewClient();
  ASSERT_TRUE(client.ok()) << client.status();
  auto workers = (*client)->ListWorkers();
  ASSERT_TRUE(workers.ok()) << workers.status();
  EXPECT_EQ(std::count_if(workers->begin(), workers->end(), [](const auto& w) { return w.live; }),
            1);

  // A client told which cluster it wants refuses this one, naming both.
  client::ClientOptions elsewhere = cluster_->ClientOptions();
  elsewhere.cluster_id = "cluster-elsewhere";
  auto refused = client::Client::Connect(elsewhere);
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find(id), std::string::npos) << refused.status();
  EXPECT_NE(refused.status().message().find("cluster-elsewhere"), std::string::npos);
}

TEST_F(ClusterIdentityTest, ASecondLocalClusterOnTheSamePortsNeverJoinsThisOne) {
  // `cluster start` with this cluster's configuration (its ports) and another run dir: that
  // coordinator cannot bind, and its workers, started with their run dir's identity, are
  // refused by this one instead of joining its ring with empty caches.
  ScopedTempDir other;
  const std::string run_dir = (other.path() / "run").string();
  auto second = cluster_->Cli(fmt::format("cluster start --run-dir {} -n 2 --wait 15", run_dir));
  EXPECT_NE(second.exit_code, 0) << second.output << second.errors;
  EXPECT_NE(second.errors.find("another cluster answers on this cluster's port"), std::string::npos)
      << second.errors;
  (void)cluster_->Cli(fmt::format("cluster stop --run-dir {}", run_dir));
  auto client = cluster_->NewClient();
  ASSERT_TRUE(client.ok()) << client.status();
  auto workers = (*client)->ListWorkers();
  ASSERT_TRUE(workers.ok()) << workers.status();
  EXPECT_EQ(workers->size(), 2u) << "only this cluster's workers ever registered";
}

TEST_F(ClusterIdentityTest, TheIdentitySurvivesACoordinatorRestart) {
  std::string id;
  std::ifstream(cluster_->worker_dir(0) / "cluster.id") >> id;
  cluster_->KillCoordinator();
  ASSERT_TRUE(cluster_->StartCoordinator().ok());
  // The same cluster: its workers come back into the ring.
  EXPECT_TRUE(cluster_->WaitForLiveWorkers(2, 30s).ok());
  client::ClientOptions same = cluster_->ClientOptions();
  same.cluster_id = id;
  EXPECT_TRUE(client::Client::Connect(same).ok());
}

}  // namespace
}  // namespace alluvium::testing
