// Distributed load from S3 end to end: a real cluster loading from a real S3-compatible server
// (s3rver), with the credentials given once, on the mount; reads through the cache afterwards
// (sending nothing to S3), an object replaced after its load (under the default cache filter
// rules and under skipCache metadata), a missing bucket, and a server failing requests.
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

constexpr uint64_t kPage = 64 << 10;
constexpr char kBucket[] = "training-data";

class S3LoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = S3TestServer::Start({kBucket});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    cluster_ = std::make_unique<LocalCluster>(LocalClusterOptions{
        .workers = 3,
        .conf = {"alluvium.worker.page.store.page.size=64KB",
                 "alluvium.user.file.segment.size=256KB",
                 // Small blocks and pages, so a 700 kB object takes several ranged GETs.
                 "alluvium.underfs.s3.read.block.size=128KB",
                 "alluvium.underfs.s3.list.page.size=3",
                 "alluvium.underfs.s3.retry.base.delay=5ms"},
        .cache_filter = cache_filter_});
    {
      const Status started = cluster_->Start();
      ASSERT_TRUE(started.ok()) << started;
    }
    auto client = cluster_->NewClient();
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  // Mounts the bucket at /s3 with the credentials as mount options: workers and coordinator
  // must both pick them up from the mount table.
  void MountBucket(const std::string& endpoint, const std::string& bucket = kBucket) {
    Status st = client_->Mount("/s3", fmt::format("s3://{}", bucket),
                               {{"alluvium.underfs.s3.endpoint", endpoint},
                                {"s3a.accessKeyId", "S3RVER"},
                                {"s3a.secretKey", "S3RVER"}});
    ASSERT_TRUE(st.ok()) << st;
  }

  // Objects of assorted sizes under <prefix>/: empty, one byte, page-sized, multi-segment.
  std::map<std::string, std::string> PutDataset(int files = 8, const std::string& prefix = "data") {
    std::map<std::string, std::string> out;  // key -> bytes
    const size_t sizes[] = {0, 1, kPage, kPage + 1, 300'000, 700'000};
    for (int i = 0; i < files; ++i) {
      const std::string key = fmt::format("{}/sub{}/f{}.bin", prefix, i % 2, i);
      out[key] = S3TestServer::SeededData(i, sizes[i % 6], 7);
      out[key].resize(sizes[i % 6], 'z');
      EXPECT_TRUE(server_->PutObject(kBucket, key, out[key]).ok());
    }
    return out;
  }

  LocalCluster::HttpReply Submit(const json& body) {
    return cluster_->Http("POST", "/api/v1/master/submit_job/load", body.dump());
  }

  json WaitEnded(const std::string& path, std::chrono::milliseconds deadline = 90s) {
    return cluster_->WaitLoadEnded({{"path", path}}, deadline);
  }

  // Loads the cache path and expects the job to succeed.
  void LoadAndWait(const std::string& path) {
    ASSERT_EQ(Submit({{"path", path}}).status, 200);
    ASSERT_EQ(WaitEnded(path)["mJobState"], "SUCCEEDED");
  }

  // Same key, same size, new bytes (only the ETag tells); returns them.
  std::string ReplaceObject(const std::string& key, const std::string& old_bytes) {
    std::string replaced = old_bytes;
    for (char& c : replaced) c = static_cast<char>(c ^ 0x5a);
    EXPECT_TRUE(server_->PutObject(kBucket, key, replaced).ok());
    return replaced;
  }

  // Reads each object through the cache at /s3/<key>; returns the bytes that came from S3.
  uint64_t ReadBack(const std::map<std::string, std::string>& objects,
                    client::Client* client = nullptr) {
    std::map<std::string, std::string> by_path;
    for (const auto& [key, bytes] : objects) by_path["/s3/" + key] = bytes;
    return ReadBackAndCompare(client != nullptr ? *client : *client_, by_path);
  }

  static uint64_t TotalBytes(const std::map<std::string, std::string>& objects) {
    uint64_t total = 0;
    for (const auto& [k, b] : objects) total += b.size();
    return total;
  }

  uint64_t CachedPages() { return StableCachedPages(*client_); }

  std::string cache_filter_;  // the cluster's cache filter rules; empty: all immutable
  std::unique_ptr<S3TestServer> server_;
  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<client::Client> client_;
};

TEST_F(S3LoadTest, CliLoadsAPrefixAndReadsComeFromTheCache) {
  MountBucket(server_->endpoint());
  auto objects = PutDataset(8);
  auto run = cluster_->Cli(fmt::format("job load s3://{}/data/ --wait", kBucket));
  ASSERT_EQ(run.exit_code, 0) << run.output << run.errors;
  EXPECT_NE(run.output.find("Job State: SUCCEEDED"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("Files Processed: 8"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("Files Failed: 0"), std::string::npos) << run.output;

  json done = WaitEnded(fmt::format("s3://{}/data/", kBucket));
  EXPECT_EQ(done["mJobState"], "SUCCEEDED") << done.dump();
  EXPECT_EQ(done["mProcessedFileCount"], objects.size()) << done.dump();
  EXPECT_EQ(done["mLoadedByteCount"], TotalBytes(objects)) << done.dump();
  EXPECT_EQ(ReadBack(objects), 0u);  // every byte from the cache

  auto ls = cluster_->Cli("fs ls /s3/data");
  EXPECT_EQ(ls.exit_code, 0) << ls.errors;
  EXPECT_NE(ls.output.find("/s3/data/sub0"), std::string::npos) << ls.output;
  EXPECT_NE(ls.output.find("/s3/data/sub1"), std::string::npos) << ls.output;
  auto stat = cluster_->Cli("fs stat /s3/data/sub1/f5.bin");
  EXPECT_EQ(stat.exit_code, 0) << stat.errors;
  EXPECT_NE(stat.output.find("700000"), std::string::npos) << stat.output;
}

TEST_F(S3LoadTest, ReplicasAndSkipIfExists) {
  MountBucket(server_->endpoint());
  auto objects = PutDataset(6);
  uint64_t pages = 0;
  for (const auto& [k, b] : objects) pages += (b.size() + kPage - 1) / kPage;

  ASSERT_EQ(Submit({{"path", "/s3/data"}, {"options", {{"replicas", 2}}}}).status, 200);
  EXPECT_EQ(WaitEnded("/s3/data")["mJobState"], "SUCCEEDED");
  EXPECT_EQ(CachedPages(), 2 * pages);

  ASSERT_EQ(Submit({{"path", "/s3/data"}, {"options", {{"skipIfExists", "true"}}}}).status, 200);
  json again = WaitEnded("/s3/data");
  EXPECT_EQ(again["mJobState"], "SUCCEEDED") << again.dump();
  EXPECT_EQ(again["mLoadedByteCount"], 0u) << again.dump();
  EXPECT_EQ(again["mSkippedByteCount"], TotalBytes(objects)) << again.dump();
  EXPECT_EQ(ReadBack(objects), 0u);
}

// The point of preloading: an epoch over loaded data costs the object store nothing. Every
// request that reaches s3rver passes the proxy, which records it.
TEST_F(S3LoadTest, ReadingLoadedObjectsSendsNothingToTheObjectStore) {
  auto proxy = FaultProxy::Start(server_->port());
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  MountBucket((*proxy)->endpoint());
  auto objects = PutDataset(12);
  LoadAndWait("/s3/data");
  const int before = (*proxy)->requests();
  ASSERT_GT(before, 0);  // the load went through the proxy

  for (int epoch = 0; epoch < 2; ++epoch) {
    EXPECT_EQ(ReadBack(objects), 0u) << "epoch " << epoch;
    for (const auto& [key, bytes] : objects) {
      auto status = client_->GetStatus("/s3/" + key);
      ASSERT_TRUE(status.ok()) << key << ": " << status.status();
      EXPECT_EQ(status->length, bytes.size()) << key;
    }
  }
  auto stat = cluster_->Cli("fs stat /s3/data/sub1/f5.bin");
  EXPECT_EQ(stat.exit_code, 0) << stat.errors;
  EXPECT_NE(stat.output.find("700000"), std::string::npos) << stat.output;

  const std::vector<std::string> targets = (*proxy)->targets();
  std::string during;
  for (size_t i = static_cast<size_t>(before); i < targets.size(); ++i) during += targets[i] + " ";
  EXPECT_EQ((*proxy)->requests(), before) << "requests that reached S3 during reads: " << during;
}

// Under the default rules (immutable) a replaced object is served as it was loaded, without
// asking S3, until a load lists it again and caches the new version.
TEST_F(S3LoadTest, ReplacedObjectIsServedAsLoadedUntilALoadRefreshesIt) {
  MountBucket(server_->endpoint());
  auto objects = PutDataset(4);
  LoadAndWait("/s3/data");
  ASSERT_EQ(ReadBack(objects), 0u);

  const std::string key = "data/sub1/f3.bin";
  const std::string replaced = ReplaceObject(key, objects[key]);
  EXPECT_EQ(ReadBack({{key, objects[key]}}), 0u);  // as loaded

  LoadAndWait("/s3/data");
  // The new version, loaded, for a client that has not seen the old status (client_ keeps it for
  // up to alluvium.user.metadata.cache.expiration.time).
  auto fresh = cluster_->NewClient();
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(ReadBack({{key, replaced}}, fresh->get()), 0u);
}

class S3LoadWithRulesTest : public S3LoadTest {
 protected:
  S3LoadWithRulesTest() {
    cache_filter_ = R"({"apiVersion": 1, "metadata": {"skipCache": [".*/live/.*"]}})";
  }
};

// With skipCache metadata every read checks the object's ETag, so a replaced object is never
// served stale: its new version is fetched and cached.
TEST_F(S3LoadWithRulesTest, ReplacedObjectWithSkipCacheMetadataIsNeverServedStale) {
  MountBucket(server_->endpoint());
  auto objects = PutDataset(4, "live");
  LoadAndWait("/s3/live");
  ASSERT_EQ(ReadBack(objects), 0u);

  const std::string key = "live/sub1/f3.bin";
  const std::string replaced = ReplaceObject(key, objects[key]);
  EXPECT_EQ(ReadBack({{key, replaced}}), replaced.size());  // fetched anew from S3
  EXPECT_EQ(ReadBack({{key, replaced}}), 0u);               // and cached as the new version
}

TEST_F(S3LoadTest, MissingBucketAndUnknownKeyAreClearErrors) {
  MountBucket(server_->endpoint(), "no-such-bucket");
  auto reply = Submit({{"path", "/s3/data"}});
  EXPECT_EQ(reply.status, 404) << reply.body;
  EXPECT_NE(reply.body.find("NoSuchBucket"), std::string::npos) << reply.body;
  auto cli = cluster_->Cli("job load /s3/data --submit");
  EXPECT_NE(cli.exit_code, 0);
  EXPECT_NE(cli.errors.find("NoSuchBucket"), std::string::npos) << cli.errors;
}

TEST_F(S3LoadTest, LoadFinishesThroughAFailingServer) {
  auto proxy = FaultProxy::Start(server_->port());
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  MountBucket((*proxy)->endpoint());
  auto objects = PutDataset(8);
  // One request in three answers 503 SlowDown: every object needs retries, none may fail.
  (*proxy)->FailEveryNth(3, FaultProxy::Fault::kSlowDown);
  ASSERT_EQ(Submit({{"path", "/s3/data"}}).status, 200);
  json done = WaitEnded("/s3/data");
  EXPECT_EQ(done["mJobState"], "SUCCEEDED") << done.dump();
  EXPECT_EQ(done["mLoadedByteCount"], TotalBytes(objects)) << done.dump();
  EXPECT_GT((*proxy)->faults_injected(), 5);
  (*proxy)->Heal();
  EXPECT_EQ(ReadBack(objects), 0u);
}

}  // namespace
}  // namespace alluvium::testing
