#include "ufs/s3/s3_options.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "ufs/s3/retry_policy.h"

namespace alluvium::ufs::s3 {
namespace {

// Clears the AWS variables for one test, and puts back what was there.
class S3OptionsTest : public ::testing::Test {
 protected:
  static constexpr const char* kVars[] = {
      "AWS_REGION",        "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",   "AWS_SECRET_ACCESS_KEY",
      "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",   "AWS_ENDPOINT_URL_S3", "AWS_CA_BUNDLE"};
  void SetUp() override {
    for (const char* v : kVars) {
      if (const char* old = getenv(v)) saved_.emplace_back(v, old);
      unsetenv(v);
    }
  }
  void TearDown() override {
    for (const char* v : kVars) unsetenv(v);
    for (const auto& [k, v] : saved_) setenv(k.c_str(), v.c_str(), 1);
  }
  std::vector<std::pair<std::string, std::string>> saved_;
};

TEST_F(S3OptionsTest, DefaultsToAwsVirtualHostedAndAnonymous) {
  auto o = S3Options::From({}, "my-bucket");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->region, "us-east-1");
  EXPECT_EQ(o->endpoint.scheme, "https");
  EXPECT_EQ(o->endpoint.HostHeader(), "s3.us-east-1.amazonaws.com");
  EXPECT_FALSE(o->path_style);
  EXPECT_TRUE(o->credentials.access_key_id.empty());
}

TEST_F(S3OptionsTest, EnvironmentGivesRegionAndCredentials) {
  setenv("AWS_REGION", "eu-west-3", 1);
  setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "SECRET", 1);
  setenv("AWS_SESSION_TOKEN", "TOKEN", 1);
  auto o = S3Options::From({}, "b");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->region, "eu-west-3");
  EXPECT_EQ(o->endpoint.HostHeader(), "s3.eu-west-3.amazonaws.com");
  EXPECT_EQ(o->credentials.access_key_id, "AKID");
  EXPECT_EQ(o->credentials.secret_access_key, "SECRET");
  EXPECT_EQ(o->credentials.session_token, "TOKEN");
}

TEST_F(S3OptionsTest, PropertiesAndAlluxioAliasesWinAsOneSet) {
  setenv("AWS_ACCESS_KEY_ID", "ENV-KEY", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "ENV-SECRET", 1);
  setenv("AWS_SESSION_TOKEN", "ENV-TOKEN", 1);
  auto o = S3Options::From({{"s3a.accessKeyId", "MOUNT-KEY"},
                            {"s3a.secretKey", "MOUNT-SECRET"},
                            {kEndpointKey, "http://127.0.0.1:9000/"}},
                           "b");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->credentials.access_key_id, "MOUNT-KEY");
  EXPECT_EQ(o->credentials.secret_access_key, "MOUNT-SECRET");
  EXPECT_EQ(o->credentials.session_token, "");  // not the environment's
  EXPECT_EQ(o->endpoint.HostHeader(), "127.0.0.1:9000");
  EXPECT_TRUE(o->path_style);  // an address has no per-bucket host names
}

TEST_F(S3OptionsTest, PathStyleFollowsTheBucketNameWhenAuto) {
  EXPECT_TRUE(S3Options::From({}, "dotted.bucket")->path_style);
  EXPECT_FALSE(S3Options::From({{kPathStyleKey, "false"}}, "dotted.bucket")->path_style);
  EXPECT_TRUE(S3Options::From({{kPathStyleKey, "true"}}, "plain")->path_style);
}

TEST_F(S3OptionsTest, EndpointHostHeaderOmitsDefaultPorts) {
  EXPECT_EQ(Endpoint::Parse("http://h:80")->HostHeader(), "h");
  EXPECT_EQ(Endpoint::Parse("https://h:443")->HostHeader(), "h");
  EXPECT_EQ(Endpoint::Parse("https://h:8443")->HostHeader(), "h:8443");
  EXPECT_EQ(Endpoint::Parse("http://[::1]:9000")->HostHeader(), "[::1]:9000");
}

TEST_F(S3OptionsTest, BadValuesNameTheKey) {
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{kEndpointKey, "ftp://h"},
                                                        {kEndpointKey, "http://h/path"},
                                                        {kEndpointKey, "http://h:99999"},
                                                        {kEndpointKey, "h:9000"},
                                                        {kPathStyleKey, "sometimes"},
                                                        {kRequestTimeoutKey, "soon"},
                                                        {kMaxAttemptsKey, "0"},
                                                        {kListPageSizeKey, "1001"},
                                                        {kReadBlockSizeKey, "1"},
                                                        {kCaBundleKey, "/nonexistent/ca.pem"}}) {
    auto o = S3Options::From({{key, value}}, "b");
    ASSERT_FALSE(o.ok()) << key << "=" << value;
    EXPECT_EQ(o.status().code(), Code::kInvalidArgument);
    if (key != kEndpointKey) {
      EXPECT_NE(o.status().message().find(key), std::string::npos);
    }
  }
  auto no_secret = S3Options::From({{kAccessKeyKey, "AKID"}}, "b");
  EXPECT_EQ(no_secret.status().code(), Code::kInvalidArgument);
}

TEST_F(S3OptionsTest, CaBundleComesFromTheKeyElseTheEnvironmentAndMattersOnlyForHttps) {
  setenv("AWS_CA_BUNDLE", "/dev/null", 1);
  auto from_env = S3Options::From({}, "b");
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_EQ(from_env->ca_bundle, "/dev/null");
  auto from_key = S3Options::From({{kCaBundleKey, "/dev/zero"}}, "b");
  ASSERT_TRUE(from_key.ok()) << from_key.status();
  EXPECT_EQ(from_key->ca_bundle, "/dev/zero");
  // A plain-http endpoint never reads it, so a stale variable must not break its mounts.
  setenv("AWS_CA_BUNDLE", "/nonexistent/ca.pem", 1);
  EXPECT_TRUE(S3Options::From({{kEndpointKey, "http://127.0.0.1:9000"}}, "b").ok());
  EXPECT_FALSE(S3Options::From({}, "b").ok());
}

TEST(RetryPolicyTest, RetriesBusyAndBrokenAnswersOnly) {
  EXPECT_TRUE(RetryPolicy::Retryable(500, ""));
  EXPECT_TRUE(RetryPolicy::Retryable(503, "SlowDown"));
  EXPECT_TRUE(RetryPolicy::Retryable(429, ""));
  EXPECT_TRUE(RetryPolicy::Retryable(400, "RequestTimeout"));
  EXPECT_FALSE(RetryPolicy::Retryable(403, "AccessDenied"));
  EXPECT_FALSE(RetryPolicy::Retryable(404, "NoSuchKey"));
  EXPECT_FALSE(RetryPolicy::Retryable(412, "PreconditionFailed"));
  EXPECT_TRUE(RetryPolicy::Retryable(Unavailable("reset")));
  EXPECT_TRUE(RetryPolicy::Retryable(DeadlineExceeded("timeout")));
  EXPECT_FALSE(RetryPolicy::Retryable(FailedPrecondition("bad certificate")));
}

TEST(RetryPolicyTest, BackoffIsJitteredBelowAnExponentialCap) {
  RetryPolicy policy(10, std::chrono::milliseconds(100), std::chrono::milliseconds(1000));
  for (int attempt = 1; attempt <= 8; ++attempt) {
    const int64_t cap = std::min<int64_t>(1000, 100LL << (attempt - 1));
    int64_t largest = 0;
    for (int i = 0; i < 200; ++i) {
      const int64_t wait = policy.Backoff(attempt).count();
      ASSERT_GE(wait, 0);
      ASSERT_LE(wait, cap);
      largest = std::max(largest, wait);
    }
    EXPECT_GT(largest, cap / 2);  // spread over the range, not stuck at the bottom
  }
}

}  // namespace
}  // namespace alluvium::ufs::s3
