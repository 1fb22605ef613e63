// The S3 client against a server that fails: retries with backoff on what is worth retrying,
// none on what is not, and a clear error once the attempts are spent. Real s3rver traffic
// through a fault-injecting proxy.
#include <functional>
#include <map>

#include <gtest/gtest.h>

#include "s3/s3_test_env.h"
#include "testing/fault_proxy.h"

namespace alluvium::ufs::s3 {
namespace {

using ::alluvium::testing::FaultProxy;
using ::alluvium::testing::OpenS3;
using ::alluvium::testing::S3Properties;
using ::alluvium::testing::S3TestServer;
using Fault = FaultProxy::Fault;

constexpr char kBucket[] = "faults";
constexpr int kMaxAttempts = 4;

class S3FaultsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = S3TestServer::Start({kBucket});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    data_ = testing::RandomBytes(2 << 20, 99);
    ASSERT_TRUE(server_->PutObject(kBucket, "dir/object", data_).ok());
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(server_->PutObject(kBucket, fmt::format("dir/small-{}", i), "x").ok());
    }
  }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    auto proxy = FaultProxy::Start(server_->port());
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    proxy_ = std::move(*proxy);
    auto props = S3Properties(proxy_->endpoint());
    props[kMaxAttemptsKey] = std::to_string(kMaxAttempts);
    props[kRequestTimeoutKey] = "500ms";
    props[kListPageSizeKey] = "2";
    fs_ = OpenS3(kBucket, props);
  }

  static std::string Uri(std::string_view key) { return fmt::format("s3://{}/{}", kBucket, key); }

  // Files listed (recursively) below `key`; -1 after a failure, which is also a test failure.
  static int CountListed(S3FileSystem& fs, std::string_view key) {
    auto it = fs.List(Uri(key), {.recursive = true});
    if (!it.ok()) {
      ADD_FAILURE() << it.status();
      return -1;
    }
    int files = 0;
    while (true) {
      auto next = (*it)->Next();
      if (!next.ok()) {
        ADD_FAILURE() << next.status();
        return -1;
      }
      if (!next->has_value()) return files;
      ++files;
    }
  }

  Result<std::string> ReadAll(std::string_view key, size_t size) {
    ALLUVIUM_ASSIGN_OR_RETURN(auto reader, fs_->Open(Uri(key)));
    std::string buf(size + 1, '\0');
    ALLUVIUM_ASSIGN_OR_RETURN(size_t n, reader->ReadAt(0, std::as_writable_bytes(std::span(buf))));
    buf.resize(n);
    return buf;
  }

  static inline std::unique_ptr<S3TestServer> server_;
  static inline std::string data_;
  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<S3FileSystem> fs_;
};

TEST_F(S3FaultsTest, TransientFaultsAreRetriedUntilTheyPass) {
  for (Fault fault : {Fault::kInternalError, Fault::kSlowDown, Fault::kTooManyRequests,
                      Fault::kReset, Fault::kTruncate, Fault::kHang}) {
    proxy_->set_hang_for(std::chrono::seconds(5));  // far beyond the 500 ms request timeout
    const int faults_before = proxy_->faults_injected();
    proxy_->FailNext(kMaxAttempts - 1, fault, "dir/object");
    auto read = ReadAll("dir/object", data_.size());
    ASSERT_TRUE(read.ok()) << testing::FaultName(fault) << ": " << read.status();
    EXPECT_TRUE(*read == data_) << testing::FaultName(fault);
    EXPECT_EQ(proxy_->faults_injected() - faults_before, kMaxAttempts - 1)
        << testing::FaultName(fault);
  }
}

TEST_F(S3FaultsTest, StatAndListRetryToo) {
  proxy_->FailNext(2, Fault::kSlowDown);
  auto status = fs_->GetStatus(Uri("dir/object"));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->length, data_.size());

  // Every other request fails: each page of the listing needs a retry.
  proxy_->FailEveryNth(2, Fault::kInternalError);
  EXPECT_EQ(CountListed(*fs_, "dir"), 6);
  EXPECT_GE(proxy_->faults_injected(), 4);
}

// The first keys of a listing come after a page of 10, not of 1000: loads start sooner.
TEST_F(S3FaultsTest, ListingPagesGrowTenfoldFromTenToThePageSize) {
  for (int i = 0; i < 120; ++i) {
    ASSERT_TRUE(server_->PutObject(kBucket, fmt::format("many/k{:03}", i), "x").ok());
  }
  auto props = S3Properties(proxy_->endpoint());
  props[kListPageSizeKey] = "1000";
  auto fs = OpenS3(kBucket, props);
  const size_t before = proxy_->targets().size();
  EXPECT_EQ(CountListed(*fs, "many"), 120);
  std::vector<std::string> page_sizes;
  const std::vector<std::string> targets = proxy_->targets();
  for (size_t i = before; i < targets.size(); ++i) {
    const size_t at = targets[i].find("max-keys=");
    if (at == std::string::npos) continue;
    page_sizes.push_back(targets[i].substr(at + 9, targets[i].find('&', at) - at - 9));
  }
  EXPECT_EQ(page_sizes, (std::vector<std::string>{"10", "100", "1000"}));
}

TEST_F(S3FaultsTest, PersistentFailureEndsWithAClearError) {
  proxy_->FailEveryNth(1, Fault::kSlowDown);
  const int before = proxy_->requests();
  auto read = ReadAll("dir/object", 10);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Code::kUnavailable);
  const std::string& message = read.status().message();
  EXPECT_NE(message.find("SlowDown"), std::string::npos) << message;
  EXPECT_NE(message.find(Uri("dir/object")), std::string::npos) << message;
  EXPECT_NE(message.find(fmt::format("after {} attempts", kMaxAttempts)), std::string::npos)
      << message;
  EXPECT_EQ(proxy_->requests() - before, kMaxAttempts);
}

TEST_F(S3FaultsTest, HangingServerTimesOutThenFails) {
  proxy_->set_hang_for(std::chrono::seconds(5));
  proxy_->FailEveryNth(1, Fault::kHang);
  auto read = ReadAll("dir/object", 10);
  EXPECT_EQ(read.status().code(), Code::kDeadlineExceeded) << read.status();
}

TEST_F(S3FaultsTest, NotFoundAndForbiddenAreNotRetried) {
  int before = proxy_->requests();
  auto missing = ReadAll("dir/missing", 10);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(proxy_->requests() - before, 1);

  auto props = S3Properties(proxy_->endpoint());
  props[kAccessKeyKey] = "WRONG";
  auto wrong = OpenS3(kBucket, props);
  before = proxy_->requests();
  auto denied = wrong->GetStatus(Uri(""));
  EXPECT_EQ(denied.status().code(), Code::kPermissionDenied) << denied.status();
  EXPECT_EQ(proxy_->requests() - before, 1);
}

// Reads dir/object sequentially in 10,000-byte pages (they straddle the 64 KiB blocks) through
// `fs`; stops at the first error. Returns the bytes read and that error (OK at the end).
std::pair<std::string, Status> ReadSequentially(S3FileSystem& fs, const std::string& uri,
                                                size_t size, std::function<void()> after_first) {
  auto status = fs.GetStatus(uri);
  if (!status.ok()) return {"", status.status()};
  auto reader = fs.Open(uri, {.expected_version = status->version, .sequential_until = size + 1});
  if (!reader.ok()) return {"", reader.status()};
  std::string got;
  std::string page(10'000, '\0');
  for (uint64_t offset = 0;; offset += page.size()) {
    auto n = (*reader)->ReadAt(offset, std::as_writable_bytes(std::span(page)));
    if (!n.ok()) return {got, n.status()};
    got += page.substr(0, *n);
    if (offset == 0 && after_first) after_first();
    if (*n < page.size()) return {got, OkStatus()};
  }
}

TEST_F(S3FaultsTest, SequentialReadIsOneStreamedGetThatResumesAfterACutAndStopsAtAFailure) {
  auto FsWith = [&](const char* read_ahead) {
    auto props = S3Properties(proxy_->endpoint());
    props[kReadBlockSizeKey] = "64KB";
    props[kReadAheadKey] = read_ahead;
    props[kMaxAttemptsKey] = "2";
    return OpenS3(kBucket, props);
  };
  std::map<std::string, int> requests;  // read-ahead on/off -> requests for one sequential read
  for (const char* ahead : {"false", "true"}) {
    auto fs = FsWith(ahead);
    const int before = proxy_->requests();
    auto [got, status] = ReadSequentially(*fs, Uri("dir/object"), data_.size(), nullptr);
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_TRUE(got == data_) << "read-ahead " << ahead;
    requests[ahead] = proxy_->requests() - before;
  }
  EXPECT_GE(requests["false"], static_cast<int>(data_.size() / (64 << 10)));  // one per block
  EXPECT_LE(requests["true"], 3) << "the status, and one GET for the whole range";

  // A connection cut half way through the body: the stream resumes, nothing lost or doubled.
  {
    auto fs = FsWith("true");
    const int before = proxy_->requests();
    auto [got, status] = ReadSequentially(*fs, Uri("dir/object"), data_.size(), [&] {
      proxy_->FailNext(1, Fault::kTruncate, "dir/object");
    });
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_TRUE(got == data_);
    EXPECT_EQ(proxy_->faults_injected(), 1);
    EXPECT_LE(proxy_->requests() - before, requests["true"] + 1);
  }

  // The server fails every request once the first page is in: what was read is right, and the
  // reader reports the failure instead of a short or mixed read.
  for (const char* ahead : {"false", "true"}) {
    proxy_->Heal();
    auto fs = FsWith(ahead);
    auto [got, status] = ReadSequentially(*fs, Uri("dir/object"), data_.size(),
                                          [&] { proxy_->FailEveryNth(1, Fault::kInternalError); });
    EXPECT_FALSE(status.ok()) << "read-ahead " << ahead;
    EXPECT_LT(got.size(), data_.size());
    EXPECT_TRUE(got == data_.substr(0, got.size()));
  }
}

}  // namespace
}  // namespace alluvium::ufs::s3
