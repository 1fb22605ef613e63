// RestClient against a real RestServer on 127.0.0.1, configured only by the alluvium.security.*
// keys as `alluvium job` is: HTTPS with the CA, mutual TLS, the token, and clear errors.
#include "cli/rest_client.h"

#include <signal.h>

#include <fstream>

#include <gtest/gtest.h>

#include "coordinator/rest/rest_server.h"
#include "testing/scoped_temp_dir.h"
#include "testing/self_signed_cert.h"

namespace alluvium::cli {
namespace {

using coordinator::HttpRequest;
using coordinator::RestServer;

constexpr char kPath[] = "/api/v1/master/info";

class RestClientTest : public ::testing::Test {
 protected:
  // httplib's TLS client writes with write(): a server that refused it would end the test with
  // SIGPIPE instead of a failed request.
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }

  void SetUp() override {
    for (const char* name : {"server", "client", "other"}) {
      Status made = testing::WriteSelfSignedCertificate(File(name, "key"), File(name, "crt"));
      ASSERT_TRUE(made.ok()) << made;
    }
    std::ofstream(File("token", "txt")) << "the-cluster-token\n";
  }

  std::string File(const std::string& name, const std::string& ext) const {
    return (dir_.path() / (name + "." + ext)).string();
  }

  // A server configured by `conf` as the coordinator would be.
  void Start(const std::vector<std::string>& conf) {
    auto config = Config::Load({.overrides = conf, .read_environment = false});
    ASSERT_TRUE(config.ok()) << config.status();
    auto security = SecuritySettings::FromConfig(*config, /*server=*/true);
    ASSERT_TRUE(security.ok()) << security.status();
    server_ = std::make_unique<RestServer>(*security);
    server_->Get(kPath,
                 [](const HttpRequest&) -> Result<std::string> { return std::string("{}"); });
    Result<int> port = server_->Start("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
  }

  Result<RestReply> Get(std::vector<std::string> conf) const {
    conf.push_back("alluvium.coordinator.hostname=127.0.0.1");
    conf.push_back("alluvium.coordinator.web.port=" + std::to_string(port_));
    auto config = Config::Load({.overrides = conf, .read_environment = false});
    if (!config.ok()) return config.status();
    return RestClient(*config).Get(kPath);
  }

  std::vector<std::string> Tls(const std::string& name, const std::string& ca) const {
    return {"alluvium.security.tls.enabled=true",
            "alluvium.security.tls.cert.file=" + File(name, "crt"),
            "alluvium.security.tls.key.file=" + File(name, "key"),
            "alluvium.security.tls.ca.file=" + File(ca, "crt")};
  }

  std::string Token() const { return "alluvium.security.token.file=" + File("token", "txt"); }

  testing::ScopedTempDir dir_;
  std::unique_ptr<RestServer> server_;
  int port_ = 0;
};

TEST_F(RestClientTest, HttpsWithTokenAndClientCertificate) {
  auto server = Tls("server", "client");
  server.push_back("alluvium.security.tls.client.auth=true");
  server.push_back(Token());
  Start(server);
  auto client = Tls("client", "server");
  client.push_back(Token());
  Result<RestReply> reply = Get(client);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
  // Without the token the server answers, and refuses.
  reply = Get(Tls("client", "server"));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 401);
}

TEST_F(RestClientTest, UntrustedServerCertificateIsFailedPrecondition) {
  Start(Tls("server", "server"));
  Result<RestReply> reply = Get({"alluvium.security.tls.enabled=true",
                                 "alluvium.security.tls.ca.file=" + File("other", "crt")});
  EXPECT_EQ(reply.status().code(), Code::kFailedPrecondition) << reply.status();
  EXPECT_NE(reply.status().message().find("alluvium.security.tls.ca.file"), std::string::npos);
}

TEST_F(RestClientTest, TlsClientOfAPlainServerIsUnavailable) {
  Start({});
  Result<RestReply> reply = Get({"alluvium.security.tls.enabled=true",
                                 "alluvium.security.tls.ca.file=" + File("server", "crt")});
  EXPECT_EQ(reply.status().code(), Code::kUnavailable) << reply.status();
}

TEST_F(RestClientTest, UnreadableSecuritySettingIsInvalidArgumentNamingTheKey) {
  Start({});
  Result<RestReply> reply =
      Get({"alluvium.security.token.file=" + (dir_.path() / "missing").string()});
  EXPECT_EQ(reply.status().code(), Code::kInvalidArgument);
  EXPECT_NE(reply.status().message().find("alluvium.security.token.file"), std::string::npos);
}

}  // namespace
}  // namespace alluvium::cli
