// The S3 test helpers against a real s3rver, observed with a plain HTTP client (httplib).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <regex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include "testing/eventually.h"
#include "testing/fault_proxy.h"
#include "testing/s3_test_server.h"

namespace alluvium::testing {
namespace {

using Fault = FaultProxy::Fault;
using std::chrono::steady_clock;

constexpr char kBucket[] = "test-bucket";

std::string Encode(std::string_view text, bool keep_slash) {
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::unique_ptr<httplib::Client> NewClient(int port) {
  auto client = std::make_unique<httplib::Client>("127.0.0.1", port);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);
  client->set_url_encode(false);
  client->set_read_timeout(std::chrono::seconds(10));
  return client;
}

std::vector<std::string> All(const std::string& xml, const std::string& tag) {
  std::vector<std::string> values;
  const std::regex pattern("<" + tag + ">([^<]*)</" + tag + ">");
  for (std::sregex_iterator it(xml.begin(), xml.end(), pattern), end; it != end; ++it) {
    values.push_back((*it)[1]);
  }
  return values;
}

struct Listing {
  std::vector<std::string> keys;
  std::vector<std::string> prefixes;
  std::vector<std::string> etags;
  std::vector<std::string> sizes;
  int pages = 0;
};

// ListObjectsV2 page by page, following continuation tokens.
Listing ListAll(httplib::Client& client, const std::string& prefix, int max_keys,
                const std::string& delimiter = "") {
  Listing listing;
  std::string token;
  for (;;) {
    std::string target = fmt::format("/{}?list-type=2&max-keys={}&prefix={}", kBucket, max_keys,
                                     Encode(prefix, false));
    if (!delimiter.empty()) target += "&delimiter=" + Encode(delimiter, false);
    if (!token.empty()) target += "&continuation-token=" + Encode(token, false);
    auto reply = client.Get(target);
    if (!reply || reply->status != 200) {
      ADD_FAILURE() << "list failed: " << (reply ? reply->body : httplib::to_string(reply.error()));
      return listing;
    }
    ++listing.pages;
    const auto keys = All(reply->body, "Key");
    EXPECT_LE(keys.size(), static_cast<size_t>(max_keys));
    listing.keys.insert(listing.keys.end(), keys.begin(), keys.end());
    for (const auto& p : All(reply->body, "Prefix")) {
      if (p != prefix) listing.prefixes.push_back(p);  // the first <Prefix> echoes the request
    }
    for (const auto& e : All(reply->body, "ETag")) listing.etags.push_back(e);
    for (const auto& s : All(reply->body, "Size")) listing.sizes.push_back(s);
    const auto next = All(reply->body, "NextContinuationToken");
    if (next.empty()) return listing;
    token = next[0];
  }
}

class S3TestingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = S3TestServer::Start({kBucket});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
    client_ = NewClient(server_->port());
  }

  std::string Path(const std::string& key) const {
    return fmt::format("/{}/{}", kBucket, Encode(key, true));
  }

  std::unique_ptr<S3TestServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(S3TestingTest, StartsAndServesTheBuckets) {
  EXPECT_GT(server_->port(), 0);
  EXPECT_EQ(server_->endpoint(), fmt::format("http://127.0.0.1:{}", server_->port()));
  auto reply = client_->Get("/");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_NE(reply->body.find("<Name>test-bucket</Name>"), std::string::npos) << reply->body;
  EXPECT_TRUE(server_->CreateBucket("second-bucket").ok());
  EXPECT_EQ(server_->CreateBucket("second-bucket").code(), Code::kAlreadyExists);
}

TEST_F(S3TestingTest, PutGetDeleteRoundTrip) {
  const std::string key = "dir/sub dir/na\xC3\xAFve \xE2\x82\xAC+%.txt";
  ASSERT_TRUE(server_->PutObject(kBucket, key, "hello, s3rver").ok());

  auto get = client_->Get(Path(key));
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "hello, s3rver");
  EXPECT_EQ(get->get_header_value("ETag"), "\"9a0d991267a0f2127141f4d357c6e579\"");

  auto head = client_->Head(Path(key));
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("Content-Length"), "13");
  EXPECT_EQ(head->get_header_value("ETag"), get->get_header_value("ETag"));

  const Listing listing = ListAll(*client_, "dir/", 1000);
  ASSERT_EQ(listing.keys, std::vector<std::string>{key});
  EXPECT_EQ(listing.etags,
            std::vector<std::string>{"&quot;9a0d991267a0f2127141f4d357c6e579&quot;"});

  ASSERT_TRUE(server_->DeleteObject(kBucket, key).ok());
  get = client_->Get(Path(key));
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 404);
  EXPECT_NE(get->body.find("<Code>NoSuchKey</Code>"), std::string::npos);
  EXPECT_TRUE(server_->DeleteObject(kBucket, key).ok()) << "S3 deletes are idempotent";
  EXPECT_EQ(server_->PutObject("no-such-bucket", "k", "v").code(), Code::kNotFound);
}

TEST_F(S3TestingTest, RangedGet) {
  ASSERT_TRUE(server_->PutObject(kBucket, "range", "0123456789").ok());
  auto reply = client_->Get(Path("range"), {{"Range", "bytes=2-5"}});
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 206);
  EXPECT_EQ(reply->body, "2345");
  EXPECT_EQ(reply->get_header_value("Content-Range"), "bytes 2-5/10");
  reply = client_->Get(Path("range"), {{"Range", "bytes=7-"}});
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, "789");
  reply = client_->Get(Path("range"), {{"Range", "bytes=10-20"}});
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 416);
}

TEST_F(S3TestingTest, ListObjectsV2PagesWithDelimiter) {
  for (const char* key : {"a/1", "a/2", "b", "c/x", "c/y/z", "d", "e"}) {
    ASSERT_TRUE(server_->PutObject(kBucket, key, key).ok());
  }
  Listing flat = ListAll(*client_, "", 2);
  EXPECT_EQ(flat.keys, (std::vector<std::string>{"a/1", "a/2", "b", "c/x", "c/y/z", "d", "e"}));
  EXPECT_EQ(flat.pages, 4);
  EXPECT_TRUE(flat.prefixes.empty());

  // s3rver does not count CommonPrefixes against max-keys (S3 does): compare the union only.
  Listing top = ListAll(*client_, "", 2, "/");
  EXPECT_EQ(top.keys, (std::vector<std::string>{"b", "d", "e"}));
  EXPECT_EQ(std::set<std::string>(top.prefixes.begin(), top.prefixes.end()),
            (std::set<std::string>{"a/", "c/"}));

  Listing under_c = ListAll(*client_, "c/", 2, "/");
  EXPECT_EQ(under_c.keys, std::vector<std::string>{"c/x"});
  EXPECT_EQ(under_c.prefixes, std::vector<std::string>{"c/y/"});
}

TEST_F(S3TestingTest, SeededObjectsAreServedLikePutOnes) {
  ASSERT_TRUE(server_->SeedObjects(kBucket, "seeded/", 250, 4096, 7).ok());
  // The same content PUT normally gives the reference ETag.
  const std::string data = S3TestServer::SeededData(3, 4096, 7);
  ASSERT_TRUE(server_->PutObject(kBucket, "reference", data).ok());
  auto reference = client_->Head(Path("reference"));
  ASSERT_TRUE(reference);

  const std::string key = S3TestServer::SeededKey("seeded/", 3);
  EXPECT_EQ(key, "seeded/obj-0000003");
  auto head = client_->Head(Path(key));
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("ETag"), reference->get_header_value("ETag"));
  EXPECT_EQ(head->get_header_value("Content-Length"), std::to_string(data.size()));
  for (int i : {0, 3, 249}) {
    auto get = client_->Get(Path(S3TestServer::SeededKey("seeded/", i)));
    ASSERT_TRUE(get);
    EXPECT_EQ(get->body, S3TestServer::SeededData(i, 4096, 7)) << i;
  }

  const Listing listing = ListAll(*client_, "seeded/", 100);
  ASSERT_EQ(listing.keys.size(), 250u);
  EXPECT_EQ(listing.pages, 3);
  for (int i = 0; i < 250; ++i) {
    EXPECT_EQ(listing.keys[i], S3TestServer::SeededKey("seeded/", i));
    EXPECT_EQ(listing.sizes[i], std::to_string(S3TestServer::SeededData(i, 4096, 7).size()));
  }
  ASSERT_TRUE(server_->DeleteObject(kBucket, key).ok());
  EXPECT_EQ(ListAll(*client_, "seeded/", 1000).keys.size(), 249u);

  EXPECT_EQ(server_->SeedObjects("missing-bucket", "x/", 1, 1, 1).code(), Code::kNotFound);
  EXPECT_EQ(server_->SeedObjects(kBucket, "x//y/", 1, 1, 1).code(), Code::kInvalidArgument);
  EXPECT_EQ(server_->SeedObjects(kBucket, "../y", 1, 1, 1).code(), Code::kInvalidArgument);
}

// Measurements behind SeedObjects and the listing advice; ALLUVIUM_S3_TIMING=1 runs them.
TEST_F(S3TestingTest, SeedAndListTiming) {
  if (std::getenv("ALLUVIUM_S3_TIMING") == nullptr) GTEST_SKIP() << "set ALLUVIUM_S3_TIMING=1";
  const auto seconds = [](steady_clock::time_point since) {
    return std::chrono::duration<double>(steady_clock::now() - since).count();
  };
  auto start = steady_clock::now();
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(
        server_->PutObject(kBucket, fmt::format("put/{:05d}", i), std::string(i % 4097, 'x')).ok());
  }
  std::printf("PUT 2,000 objects: %.2f s\n", seconds(start));
  for (const int count : {10'000, 100'000}) {
    const std::string flat = fmt::format("flat{}/", count);
    start = steady_clock::now();
    ASSERT_TRUE(server_->SeedObjects(kBucket, flat, count, 4096, 1).ok());
    std::printf("seed %d objects: %.2f s\n", count, seconds(start));
    start = steady_clock::now();
    EXPECT_EQ(ListAll(*client_, flat, 1000).keys.size(), static_cast<size_t>(count));
    std::printf("list %d keys in one directory: %.2f s\n", count, seconds(start));
  }
  start = steady_clock::now();
  for (int d = 0; d < 100; ++d) {
    ASSERT_TRUE(
        server_->SeedObjects(kBucket, fmt::format("sharded/{:03d}/", d), 1000, 4096, d).ok());
  }
  std::printf("seed 100 x 1,000 objects: %.2f s\n", seconds(start));
  start = steady_clock::now();
  EXPECT_EQ(ListAll(*client_, "sharded/", 1000).keys.size(), 100'000u);
  std::printf("list 100,000 keys in 100 directories: %.2f s\n", seconds(start));
  start = steady_clock::now();
  server_.reset();  // stops s3rver and deletes its ~420,000 files
  std::printf("stop and clean up: %.2f s\n", seconds(start));
}

class FaultProxyTest : public S3TestingTest {
 protected:
  void SetUp() override {
    S3TestingTest::SetUp();
    if (HasFatalFailure()) return;
    auto proxy = FaultProxy::Start(server_->port());
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    proxy_ = std::move(proxy).value();
    via_proxy_ = NewClient(proxy_->port());
    ASSERT_TRUE(server_->PutObject(kBucket, "object", std::string(1000, 'o')).ok());
  }

  // A healthy GET through the proxy.
  void ExpectHealthy() {
    auto reply = via_proxy_->Get(Path("object"));
    ASSERT_TRUE(reply) << httplib::to_string(reply.error());
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, std::string(1000, 'o'));
  }

  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<httplib::Client> via_proxy_;
};

TEST_F(FaultProxyTest, ForwardsWithoutFaults) {
  EXPECT_EQ(proxy_->endpoint(), fmt::format("http://127.0.0.1:{}", proxy_->port()));
  const std::string big(3 << 20, 'b');
  auto put = via_proxy_->Put(Path("big"), big, "application/octet-stream");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 200);
  auto get = via_proxy_->Get(Path("big"));
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, big);
  auto head = via_proxy_->Head(Path("big"));  // Content-Length without a body
  ASSERT_TRUE(head);
  EXPECT_EQ(head->get_header_value("Content-Length"), std::to_string(big.size()));
  auto missing = via_proxy_->Get(Path("missing"));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  ExpectHealthy();
  EXPECT_EQ(proxy_->requests(), 5);
  EXPECT_EQ(proxy_->faults_injected(), 0);
}

TEST_F(FaultProxyTest, ErrorStatusesCarryS3Codes) {
  const struct {
    Fault fault;
    int status;
    const char* code;
  } cases[] = {{Fault::kInternalError, 500, "InternalError"},
               {Fault::kSlowDown, 503, "SlowDown"},
               {Fault::kTooManyRequests, 429, "TooManyRequests"}};
  for (const auto& c : cases) {
    proxy_->FailNext(2, c.fault);
    for (int i = 0; i < 2; ++i) {
      auto reply = via_proxy_->Get(Path("object"));
      ASSERT_TRUE(reply);
      EXPECT_EQ(reply->status, c.status);
      EXPECT_NE(reply->body.find(fmt::format("<Code>{}</Code>", c.code)), std::string::npos);
    }
    ExpectHealthy();
  }
  // HEAD gets the status without a body, and the kept-alive connection stays usable.
  proxy_->FailNext(1, Fault::kSlowDown);
  auto head = via_proxy_->Head(Path("object"));
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 503);
  ExpectHealthy();
  EXPECT_EQ(proxy_->faults_injected(), 7);
  EXPECT_EQ(proxy_->requests(), 11);
}

TEST_F(FaultProxyTest, ResetClosesWithoutAnswer) {
  proxy_->FailNext(1, Fault::kReset);
  auto reply = via_proxy_->Get(Path("object"));
  EXPECT_FALSE(reply);
  ExpectHealthy();
  EXPECT_EQ(proxy_->faults_injected(), 1);
}

TEST_F(FaultProxyTest, HangAnswersNothingThenCloses) {
  proxy_->set_hang_for(std::chrono::milliseconds(300));
  proxy_->FailNext(1, Fault::kHang);
  auto start = steady_clock::now();
  auto reply = via_proxy_->Get(Path("object"));
  EXPECT_FALSE(reply);
  EXPECT_GE(steady_clock::now() - start, std::chrono::milliseconds(290));
  ExpectHealthy();

  // A client timeout shorter than the hang fires first.
  proxy_->set_hang_for(std::chrono::seconds(30));
  proxy_->FailNext(1, Fault::kHang);
  auto impatient = NewClient(proxy_->port());
  impatient->set_read_timeout(std::chrono::milliseconds(200));
  start = steady_clock::now();
  reply = impatient->Get(Path("object"));
  EXPECT_FALSE(reply);
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(proxy_->faults_injected(), 2);
}

TEST_F(FaultProxyTest, TruncateCutsTheBodyHalfway) {
  proxy_->FailNext(1, Fault::kTruncate);
  std::string received;
  auto reply = via_proxy_->Get(Path("object"), [&](const char* data, size_t size) {
    received.append(data, size);
    return true;
  });
  EXPECT_FALSE(reply);
  EXPECT_EQ(received, std::string(500, 'o'));
  ExpectHealthy();
}

TEST_F(FaultProxyTest, FaultsOnlyMatchingTargets) {
  ASSERT_TRUE(server_->PutObject(kBucket, "special", "s").ok());
  proxy_->FailNext(1, Fault::kInternalError, "/special");
  ExpectHealthy();
  auto reply = via_proxy_->Get(Path("special"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 500);
  reply = via_proxy_->Get(Path("special"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(proxy_->faults_injected(), 1);
}

TEST_F(FaultProxyTest, FailEveryNth) {
  proxy_->FailEveryNth(3, Fault::kSlowDown);
  std::vector<int> statuses;
  for (int i = 0; i < 7; ++i) {
    auto reply = via_proxy_->Get(Path("object"));
    ASSERT_TRUE(reply);
    statuses.push_back(reply->status);
  }
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 503, 200, 200, 503, 200}));
  proxy_->FailEveryNth(0, Fault::kSlowDown);
  for (int i = 0; i < 3; ++i) ExpectHealthy();
  EXPECT_EQ(proxy_->faults_injected(), 2);
  EXPECT_EQ(proxy_->requests(), 10);
}

// libcurl sends "Expect: 100-continue" with PUT bodies over 1 MiB and waits for the interim reply.
TEST_F(FaultProxyTest, AnswersExpectContinue) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(proxy_->port());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const auto read_some = [fd] {
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, n) : std::string();
  };
  const std::string head = fmt::format(
      "PUT {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
      Path("continued"));
  ASSERT_EQ(::send(fd, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
  EXPECT_EQ(read_some(), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_EQ(::send(fd, "hello", 5, 0), 5);
  EXPECT_EQ(read_some().substr(0, 15), "HTTP/1.1 200 OK");
  ::close(fd);
  auto get = via_proxy_->Get(Path("continued"));
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, "hello");
}

// s3rver closes connections idle for 5 s; the helper and the proxy reconnect transparently.
TEST_F(FaultProxyTest, SurvivesServerClosingIdleConnections) {
  ExpectHealthy();
  ASSERT_TRUE(server_->PutObject(kBucket, "before", "x").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5500));
  ExpectHealthy();
  EXPECT_TRUE(server_->PutObject(kBucket, "after", "x").ok());
  EXPECT_EQ(proxy_->requests(), 2);
}

TEST_F(FaultProxyTest, StopsPromptlyWhileAConnectionHangs) {
  proxy_->FailNext(1, Fault::kHang);  // 30 s by default
  std::thread hanging([port = proxy_->port(), path = Path("object")] {
    auto client = NewClient(port);
    client->set_read_timeout(std::chrono::seconds(60));
    EXPECT_FALSE(client->Get(path));
  });
  ASSERT_TRUE(Eventually([&] { return proxy_->faults_injected() == 1; }, std::chrono::seconds(5)));
  auto idle = NewClient(proxy_->port());  // and one idle kept-alive connection
  ASSERT_TRUE(idle->Get(Path("object")));
  const auto start = steady_clock::now();
  proxy_.reset();
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(2));
  hanging.join();
}

}  // namespace
}  // namespace alluvium::testing
