// Secrets stay on the servers: a bucket mounted with a planted, unique secret key, and another
// planted in the configuration, on a cluster logging at DEBUG. Every way a user or a client sees
// the cluster (`fs mounts`, `conf show`, the client library's ListMounts, ClusterInfo itself, the
// REST answers, the messages of failing loads and reads) and every process's log must not
// contain either, while workers still read the bucket with the mount's credentials, which they
// get by GetMountOptions (the worker-only call).
#include <fstream>
#include <random>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "alluvium.grpc.pb.h"
#include "integration/local_cluster.h"
#include "proto/channel.h"
#include "testing/s3_test_server.h"

namespace alluvium::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr char kBucket[] = "secret-bucket";

std::string Planted(std::string_view what) {
  std::random_device random;
  return fmt::format("PLANTED-{}-{:08x}{:08x}", what, random(), random());
}

class SecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = S3TestServer::Start({kBucket});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    cluster_ = std::make_unique<LocalCluster>(LocalClusterOptions{
        .workers = 2,
        .conf = {"alluvium.log.level=debug",  // beats the fixture's info: later lines win
                 "alluvium.worker.page.store.page.size=64KB",
                 "alluvium.user.file.segment.size=256KB",
                 "alluvium.underfs.s3.secret.key=" + conf_secret_}});
    const Status started = cluster_->Start();
    ASSERT_TRUE(started.ok()) << started;
    auto client = cluster_->NewClient();
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  // `what` must hold neither planted secret.
  void ExpectNoSecret(std::string_view where, std::string_view what) {
    for (const std::string& secret : {mount_secret_, conf_secret_}) {
      const size_t at = what.find(secret);
      EXPECT_EQ(at, std::string::npos)
          << where << " holds a secret: ..." << what.substr(at < 200 ? 0 : at - 200, 400) << "...";
    }
  }

  CommandResult Cli(const std::string& args) {
    CommandResult run = cluster_->Cli(args);
    ExpectNoSecret("`alluvium " + args + "` output", run.output);
    ExpectNoSecret("`alluvium " + args + "` errors", run.errors);
    return run;
  }

  LocalCluster::HttpReply Http(const std::string& method, const std::string& target,
                               const json& body = nullptr) {
    auto reply = cluster_->Http(method, target, body.is_null() ? "" : body.dump());
    ExpectNoSecret(method + " " + target, reply.body);
    return reply;
  }

  std::string MountOptions() const {
    return fmt::format(
        "--option alluvium.underfs.s3.endpoint={} --option s3a.accessKeyId=S3RVER "
        "--option s3a.secretKey={} --option alluvium.underfs.s3.session.token={}",
        server_->endpoint(), mount_secret_, mount_secret_);
  }

  const std::string mount_secret_ = Planted("MOUNT-SECRET");
  const std::string conf_secret_ = Planted("CONF-SECRET");
  std::unique_ptr<S3TestServer> server_;
  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<client::Client> client_;
};

TEST_F(SecretsTest, NoOutputMessageOrLogHoldsASecretWhileWorkersReadWithIt) {
  // Mounted through the CLI, as users do; the bucket holds a few objects.
  auto mount = Cli(fmt::format("fs mount /s3 s3://{} {}", kBucket, MountOptions()));
  ASSERT_EQ(mount.exit_code, 0) << mount.errors;
  std::map<std::string, std::string> objects;
  for (int i = 0; i < 4; ++i) {
    const std::string key = fmt::format("data/f{}.bin", i);
    objects["/s3/" + key] = S3TestServer::SeededData(i, 300'000, 5);
    ASSERT_TRUE(server_->PutObject(kBucket, key, objects["/s3/" + key]).ok());
  }

  // `fs mounts` and `conf show` say which secrets are set, not what they are.
  auto mounts = Cli("fs mounts");
  ASSERT_EQ(mounts.exit_code, 0) << mounts.errors;
  EXPECT_NE(mounts.output.find("s3a.secretKey=******"), std::string::npos) << mounts.output;
  EXPECT_NE(mounts.output.find("s3a.accessKeyId=S3RVER"), std::string::npos) << mounts.output;
  auto conf = Cli("conf show");
  ASSERT_EQ(conf.exit_code, 0) << conf.errors;
  EXPECT_NE(conf.output.find("alluvium.underfs.s3.secret.key=******"), std::string::npos)
      << conf.output;
  EXPECT_NE(conf.output.find("alluvium.log.level=debug"), std::string::npos) << conf.output;

  // The client library, and ClusterInfo as any process reaching the coordinator gets it.
  auto listed = client_->ListMounts();
  ASSERT_TRUE(listed.ok()) << listed.status();
  bool found = false;
  for (const client::MountInfo& m : *listed) {
    if (m.path != "/s3") continue;
    found = true;
    EXPECT_EQ(m.options.at("s3a.secretKey"), "******");
    EXPECT_EQ(m.options.at("alluvium.underfs.s3.session.token"), "******");
  }
  EXPECT_TRUE(found);
  auto stub = rpc::CoordinatorService::NewStub(
      rpc::NewChannel(cluster_->ClientOptions().coordinator_address));
  {
    grpc::ClientContext context;
    rpc::ClusterInfo info;
    ASSERT_TRUE(stub->GetClusterInfo(&context, {}, &info).ok());
    ExpectNoSecret("ClusterInfo", info.SerializeAsString());
  }
  {
    // The worker-only call has it (until the cluster token guards it, anyone who asks).
    grpc::ClientContext context;
    rpc::GetMountOptionsRequest request;
    request.set_ufs_root(fmt::format("s3://{}", kBucket));
    rpc::MountOptions options;
    ASSERT_TRUE(stub->GetMountOptions(&context, request, &options).ok());
    EXPECT_EQ(options.properties().at("s3a.secretKey"), mount_secret_);
  }

  // A load through the CLI and REST, its progress and report, every job, the cluster's info.
  auto load = Cli("job load /s3/data --wait");
  ASSERT_EQ(load.exit_code, 0) << load.output << load.errors;
  EXPECT_NE(load.output.find("Job State: SUCCEEDED"), std::string::npos) << load.output;
  EXPECT_EQ(Cli("job load /s3/data --progress --format JSON --verbose").exit_code, 0);
  EXPECT_EQ(Http("POST", "/api/v1/master/submit_job/load", {{"path", "/s3/data"}}).status, 200);
  const json ended = cluster_->WaitLoadEnded({{"path", "/s3/data"}}, 60s);
  ExpectNoSecret("load progress", ended.dump());
  EXPECT_EQ(ended["mJobState"], "SUCCEEDED") << ended.dump();
  Http("GET", "/api/v1/master/progress_job/load", {{"path", "/s3/data"}});
  Http("GET", "/api/v1/master/report_job/load", {{"path", "/s3/data"}});
  Http("GET", "/api/v1/master/list_job");
  auto info = Http("GET", "/api/v1/master/info");
  EXPECT_EQ(info.status, 200);
  EXPECT_NE(info.body.find("\"s3a.secretKey\":\"******\""), std::string::npos) << info.body;
  Http("GET", "/metrics");

  // The workers read the bucket with the mount's settings, served from the cache after the load.
  EXPECT_EQ(ReadBackAndCompare(*client_, objects), 0u);
  for (const auto& [path, bytes] : objects) {
    auto cat = Cli("fs cat " + path);
    EXPECT_EQ(cat.exit_code, 0) << cat.errors;
  }

  // Errors: a missing bucket mounted with the same secret (load refused, through REST and the
  // CLI), a mount over a mounted path, a missing object, a load of a missing path.
  ASSERT_EQ(Cli(fmt::format("fs mount /gone s3://no-such-bucket {}", MountOptions())).exit_code, 0);
  EXPECT_EQ(Http("POST", "/api/v1/master/submit_job/load", {{"path", "/gone/data"}}).status, 404);
  EXPECT_NE(Cli("job load /gone/data --submit").exit_code, 0);
  EXPECT_NE(Cli("job load /gone/data --progress --verbose").exit_code, 0);
  EXPECT_NE(Cli(fmt::format("fs mount /s3 s3://{}-2 {}", kBucket, MountOptions())).exit_code, 0);
  EXPECT_NE(Cli("fs cat /s3/data/missing.bin").exit_code, 0);
  EXPECT_NE(Cli("fs ls /gone").exit_code, 0);
  EXPECT_NE(
      Cli(fmt::format("-D alluvium.underfs.s3.secret.kee={} fs ls /", mount_secret_)).exit_code, 0);
  EXPECT_NE(
      Cli(fmt::format("fs mount /m s3://b --option s3a.secretKey:{}", mount_secret_)).exit_code, 0);
  EXPECT_EQ(Http("POST", "/api/v1/master/submit_job/load", {{"path", "/s3/nothing-here"}}).status,
            404);

  // Last, every log, DEBUG lines included.
  const std::vector<std::filesystem::path> logs = cluster_->LogFiles();
  EXPECT_GE(logs.size(), 3u);  // coordinator, 2 workers
  bool debug_lines = false;
  for (const std::filesystem::path& log : logs) {
    std::ifstream in(log);
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    debug_lines = debug_lines || text.find(" D [") != std::string::npos;
    ExpectNoSecret(log.filename().string(), text);
  }
  EXPECT_TRUE(debug_lines) << "the cluster did not log at DEBUG";
}

}  // namespace
}  // namespace alluvium::testing
