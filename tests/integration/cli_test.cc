// The `alluvium` binary as users run it: output, messages and exit codes.
#include <fstream>

#include <gtest/gtest.h>

#include "integration/local_cluster.h"

namespace alluvium::testing {
namespace {

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = std::make_unique<LocalCluster>(LocalClusterOptions{.workers = 2});  // per suite
    {
      const Status started = cluster_->Start();
      ASSERT_TRUE(started.ok()) << started;
    }
  }
  static void TearDownTestSuite() { cluster_.reset(); }
  static std::unique_ptr<LocalCluster> cluster_;
};

std::unique_ptr<LocalCluster> CliTest::cluster_;

TEST_F(CliTest, CatHeadTailAndCpMatchTheFile) {
  const std::string bytes = WriteRandomFile(cluster_->ufs_root() / "cli/f.bin", 300'000, 11);
  auto cat = cluster_->Cli("fs cat /cli/f.bin");
  EXPECT_EQ(cat.exit_code, 0) << cat.errors;
  EXPECT_EQ(cat.output, bytes);
  auto head = cluster_->Cli("fs head -c 100 /cli/f.bin");
  EXPECT_EQ(head.exit_code, 0) << head.errors;
  EXPECT_EQ(head.output, bytes.substr(0, 100));
  auto tail = cluster_->Cli("fs tail -c 1KB /cli/f.bin");
  EXPECT_EQ(tail.exit_code, 0) << tail.errors;
  EXPECT_EQ(tail.output, bytes.substr(bytes.size() - 1024));

  ScopedTempDir out;
  const auto dest = out.path() / "copy.bin";
  auto cp = cluster_->Cli("fs cp /cli/f.bin " + dest.string());
  EXPECT_EQ(cp.exit_code, 0) << cp.output;
  EXPECT_NE(cp.output.find("300000 bytes"), std::string::npos) << cp.output;
  std::ifstream in(dest, std::ios::binary);
  std::string copied((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(copied, bytes);
}

// Short output sits in stdio's buffer until the end: a failed final write must still fail.
TEST_F(CliTest, OutputThatCannotBeWrittenFailsTheCommand) {
  WriteRandomFile(cluster_->ufs_root() / "cli/short.bin", 1000, 13);
  for (const char* command :
       {"fs head -c 100 /cli/short.bin", "fs stat /cli/short.bin", "conf show"}) {
    auto run = cluster_->Cli(std::string(command) + " > /dev/full");
    EXPECT_EQ(run.exit_code, 1) << command;
    EXPECT_NE(run.errors.find("write to standard output"), std::string::npos)
        << command << ": " << run.errors;
  }
}

TEST_F(CliTest, LsAndStatShowFiles) {
  WriteRandomFile(cluster_->ufs_root() / "ls/one", 12, 12);
  auto ls = cluster_->Cli("fs ls /ls");
  EXPECT_EQ(ls.exit_code, 0);
  EXPECT_NE(ls.output.find("/ls/one"), std::string::npos) << ls.output;
  auto stat = cluster_->Cli("fs stat /ls/one");
  EXPECT_EQ(stat.exit_code, 0);
  EXPECT_NE(stat.output.find("length: 12"), std::string::npos) << stat.output;
}

TEST_F(CliTest, MissingPathsFailClearly) {
  auto stat = cluster_->Cli("fs stat /definitely/missing");
  EXPECT_EQ(stat.exit_code, 1);
  EXPECT_NE(stat.errors.find("alluvium: "), std::string::npos) << stat.errors;
  EXPECT_NE(stat.errors.find("/definitely/missing"), std::string::npos) << stat.errors;
  EXPECT_NE(stat.errors.find("not found"), std::string::npos) << stat.errors;
  auto cat = cluster_->Cli("fs cat /definitely/missing");
  EXPECT_EQ(cat.exit_code, 1);
}

TEST_F(CliTest, UsageErrorsExitWithTwo) {
  EXPECT_EQ(cluster_->Cli("fs frobnicate").exit_code, 2);
  EXPECT_EQ(cluster_->Cli("fs cat").exit_code, 2);
  EXPECT_EQ(cluster_->Cli("").exit_code, 2);
  auto bad_conf = cluster_->Cli("-D alluvium.no.such.key=1 fs ls /");
  EXPECT_EQ(bad_conf.exit_code, 1);
  EXPECT_NE(bad_conf.errors.find("alluvium.no.such.key"), std::string::npos);
}

TEST_F(CliTest, MountCommandsRoundTrip) {
  ScopedTempDir other;
  WriteRandomFile(other.path() / "z", 3, 13);
  EXPECT_EQ(cluster_->Cli("fs mount /m file://" + other.path().string()).exit_code, 0);
  auto mounts = cluster_->Cli("fs mounts");
  EXPECT_NE(mounts.output.find("/m  file://" + other.path().string()), std::string::npos)
      << mounts.output;
  EXPECT_EQ(cluster_->Cli("fs stat /m/z").exit_code, 0);
  EXPECT_EQ(cluster_->Cli("fs unmount /m").exit_code, 0);
  EXPECT_EQ(cluster_->Cli("fs unmount /m").exit_code, 1);
}

TEST_F(CliTest, ConfShowPrintsEffectiveValuesWithSources) {
  auto show = cluster_->Cli("-D alluvium.worker.page.store.page.size=2MB conf show");
  EXPECT_EQ(show.exit_code, 0);
  EXPECT_NE(show.output.find("alluvium.worker.page.store.page.size=2MB  (flag)"), std::string::npos)
      << show.output;
  EXPECT_NE(show.output.find("alluvium.worker.heartbeat.interval=200ms  (file)"),
            std::string::npos);
}

TEST_F(CliTest, CoordinatorDownIsAClearError) {
  auto result =
      cluster_->Cli("-D alluvium.coordinator.rpc.port=1 -D alluvium.user.rpc.timeout=2s fs ls /");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.errors.find("cannot reach the coordinator"), std::string::npos) << result.errors;
}

}  // namespace
}  // namespace alluvium::testing
