// Under-storage faults during loads: files deleted or replaced mid-job, objects the server denies,
// a server that answers 500/503 or hangs for a while, and one that keeps failing some keys. Each
// job must finish; transient faults are retried away; every file that cannot be loaded is listed
// with a reason that is true; every other file is cached and read back byte for byte.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/local_cluster.h"
#include "testing/eventually.h"
#include "testing/fault_proxy.h"
#include "testing/s3_test_server.h"

namespace alluvium::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr char kBucket[] = "faults";

class UfsFaultsTest : public ::testing::Test {
 protected:
  // `cache_filter`: the cache filter rules' JSON; empty for the default (all immutable).
  void StartCluster(std::vector<std::string> extra = {}, std::string cache_filter = "") {
    std::vector<std::string> conf = {"alluvium.worker.page.store.page.size=64KB",
                                     "alluvium.user.file.segment.size=256KB"};
    conf.insert(conf.end(), extra.begin(), extra.end());
    cluster_ = std::make_unique<LocalCluster>(
        LocalClusterOptions{.workers = 3, .conf = conf, .cache_filter = std::move(cache_filter)});
    {
      const Status started = cluster_->Start();
      ASSERT_TRUE(started.ok()) << started;
    }
    auto client = cluster_->NewClient();
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  LocalCluster::HttpReply Submit(const json& body) {
    return cluster_->Http("POST", "/api/v1/master/submit_job/load", body.dump());
  }

  json Progress(const std::string& path) { return cluster_->LoadProgress({{"path", path}}); }

  json WaitEnded(const std::string& path, std::chrono::milliseconds deadline = 120s) {
    return cluster_->WaitLoadEnded({{"path", path}}, deadline);
  }

  // cache path -> reason, from a verbose JSON progress.
  static std::map<std::string, std::string> FailedFiles(const json& progress) {
    std::map<std::string, std::string> out;
    for (const auto& [path, reason] : progress.at("mFailedFilesWithReasons").items()) {
      out[path] = reason.get<std::string>();
    }
    return out;
  }

  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<client::Client> client_;
};

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(UfsFaultsTest, LocalFilesDeletedOrReplacedMidLoadFailWithTrueReasons) {
  // Files that change are what skipCache metadata is for: with the default (immutable), a
  // segment loaded before the change would leave the old status cached, as the rule allows.
  StartCluster({}, R"({"apiVersion": 1, "metadata": {"skipCache": [".*/mid/.*"]}})");
  // Two big files first in listing order: 32 segments each, far more than the segment loads in
  // flight, so each is listed and partly loaded, but not all opened, when it changes.
  const std::string deleted = "/mid/a-deleted.bin", replaced = "/mid/b-replaced.bin";
  WriteRandomFile(cluster_->ufs_root() / deleted.substr(1), 8 << 20, 100);
  WriteRandomFile(cluster_->ufs_root() / replaced.substr(1), 8 << 20, 101);
  std::map<std::string, std::string> files;
  for (int i = 0; i < 6; ++i) {
    const std::string name = fmt::format("/mid/c{}.bin", i);
    files[name] = WriteRandomFile(cluster_->ufs_root() / name.substr(1), 100'000 * i, i);
  }
  // One segment per batch, so bytes show as loaded after the first segment, long before the end.
  ASSERT_EQ(
      Submit({{"path", "/mid"}, {"options", {{"bandwidth", "2MB"}, {"batchSize", 1}}}}).status,
      200);
  ASSERT_TRUE(Eventually(
      [&] {
        json p = Progress("/mid");
        return p.value("mScannedInodesCount", 0) >= 2 && p.value("mLoadedByteCount", 0) > 0;
      },
      30s));
  std::filesystem::remove(cluster_->ufs_root() / deleted.substr(1));
  // Rewritten in place (same inode), another size.
  const std::string new_bytes =
      WriteRandomFile(cluster_->ufs_root() / replaced.substr(1), 300'000, 102);

  json done = WaitEnded("/mid");
  EXPECT_EQ(done["mJobState"], "FAILED") << done.dump();
  EXPECT_EQ(done["mProcessedFileCount"], 8u);
  // The rewritten file always fails. The deleted one fails unless every one of its segments had
  // opened it already: an open descriptor keeps the deleted file whole, a true copy of it.
  const auto failed = FailedFiles(done);
  ASSERT_GE(failed.size(), 1u) << done.dump();
  ASSERT_LE(failed.size(), 2u) << done.dump();
  EXPECT_EQ(done["mFailedFileCount"], failed.size());
  for (const auto& [uri, reason] : failed) {
    if (Contains(uri, "a-deleted")) {
      EXPECT_TRUE(Contains(reason, "NOT_FOUND")) << reason;
    } else {
      EXPECT_TRUE(Contains(uri, "b-replaced")) << uri;
      EXPECT_TRUE(Contains(reason, "ABORTED") && Contains(reason, "changed")) << reason;
    }
  }
  // True reasons: one is gone, the other is read back at its new version; the rest is cached.
  EXPECT_EQ(ReadBackAndCompare(*client_, files), 0u);
  EXPECT_EQ(client_->GetStatus(deleted).status().code(), Code::kNotFound);
  ReadBackAndCompare(*client_, {{replaced, new_bytes}});
}

class S3UfsFaultsTest : public UfsFaultsTest {
 protected:
  void SetUp() override {
    auto server = S3TestServer::Start({kBucket});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto proxy = FaultProxy::Start(server_->port());
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    proxy_ = std::move(*proxy);
    StartCluster(
        {"alluvium.underfs.s3.read.block.size=128KB", "alluvium.underfs.s3.retry.base.delay=5ms",
         "alluvium.underfs.s3.retry.max.delay=50ms", "alluvium.underfs.s3.retry.max.attempts=4",
         "alluvium.underfs.s3.request.timeout=1s"});
    ASSERT_TRUE(client_
                    ->Mount("/s3", fmt::format("s3://{}", kBucket),
                            {{"alluvium.underfs.s3.endpoint", proxy_->endpoint()},
                             {"s3a.accessKeyId", "S3RVER"},
                             {"s3a.secretKey", "S3RVER"}})
                    .ok());
  }

  std::map<std::string, std::string> PutObjects(const std::string& dir, int count) {
    std::map<std::string, std::string> out;  // cache path -> bytes
    for (int i = 0; i < count; ++i) {
      const std::string key = fmt::format("{}/o{}.bin", dir, i);
      std::string bytes = S3TestServer::SeededData(i, 200'000, 3);
      bytes.resize(100'000 + 10'000 * i, 'f');
      EXPECT_TRUE(server_->PutObject(kBucket, key, bytes).ok());
      out["/s3/" + key] = std::move(bytes);
    }
    return out;
  }

  std::unique_ptr<S3TestServer> server_;  // declared first: outlives the proxy
  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(S3UfsFaultsTest, TransientErrorsAndHangsAreRetriedAway) {
  const auto files = PutObjects("flaky", 12);
  proxy_->set_hang_for(3s);  // past the 1 s request timeout
  proxy_->FailNext(3, FaultProxy::Fault::kHang, "/flaky/");
  proxy_->FailNext(4, FaultProxy::Fault::kInternalError, "/flaky/");
  proxy_->FailEveryNth(3, FaultProxy::Fault::kSlowDown);
  ASSERT_EQ(Submit({{"path", "/s3/flaky"}}).status, 200);
  json done = WaitEnded("/s3/flaky");
  EXPECT_EQ(done["mJobState"], "SUCCEEDED") << done.dump();
  EXPECT_EQ(done["mFailedFileCount"], 0u);
  EXPECT_GT(proxy_->faults_injected(), 7);
  proxy_->Heal();
  EXPECT_EQ(ReadBackAndCompare(*client_, files), 0u) << "all of it is cached";
}

TEST_F(S3UfsFaultsTest, DeniedAndPersistentlyFailingObjectsAreTrueFailuresTheRestLoads) {
  auto files = PutObjects("mixed", 8);
  auto denied = PutObjects("mixed/denied", 2);
  auto broken = PutObjects("mixed/broken", 2);
  proxy_->FailNext(1000, FaultProxy::Fault::kAccessDenied, "/mixed/denied/");
  proxy_->FailNext(1000, FaultProxy::Fault::kInternalError, "/mixed/broken/");
  ASSERT_EQ(Submit({{"path", "/s3/mixed"}}).status, 200);
  json done = WaitEnded("/s3/mixed");
  EXPECT_EQ(done["mJobState"], "FAILED") << done.dump();
  EXPECT_EQ(done["mProcessedFileCount"], 12u);
  const auto failed = FailedFiles(done);
  ASSERT_EQ(failed.size(), 4u) << done.dump();
  for (const auto& [uri, reason] : failed) {
    if (Contains(uri, "/denied/")) {
      EXPECT_TRUE(Contains(reason, "PERMISSION_DENIED") && Contains(reason, "AccessDenied"))
          << reason;
    } else {
      EXPECT_TRUE(Contains(uri, "/broken/")) << uri;
      EXPECT_TRUE(Contains(reason, "InternalError")) << reason;
    }
  }
  // Everything else is cached, byte for byte.
  EXPECT_EQ(ReadBackAndCompare(*client_, files), 0u);
  // Reading a denied object through the cache is the same true error, never bytes.
  auto denied_read = client_->Read(denied.begin()->first, 0, UINT64_MAX,
                                   [](std::span<const std::byte>) { return OkStatus(); });
  EXPECT_EQ(denied_read.status().code(), Code::kPermissionDenied) << denied_read.status();
  // Once the server heals, a new load picks the rest up.
  proxy_->Heal();
  ASSERT_EQ(Submit({{"path", "/s3/mixed"}}).status, 200);
  done = WaitEnded("/s3/mixed");
  EXPECT_EQ(done["mJobState"], "SUCCEEDED") << done.dump();
  denied.insert(broken.begin(), broken.end());
  EXPECT_EQ(ReadBackAndCompare(*client_, denied), 0u);
}

}  // namespace
}  // namespace alluvium::testing
