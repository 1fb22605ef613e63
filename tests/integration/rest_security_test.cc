// A secured cluster seen from the REST side: TLS with a certificate and CA made per run (and
// mutual TLS), and the cluster token. `alluvium job load` works with the cluster's own
// configuration; a caller without the token or with a wrong one gets 401 and nothing is done;
// curl, as docs/security.md shows it, works with the CA, certificate and token, and fails
// without them.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/local_cluster.h"
#include "testing/self_signed_cert.h"

namespace alluvium::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr char kToken[] = "rest-security-test-token-5f1c";

struct CurlReply {
  int exit_code = -1;  // curl's: 0 when an HTTP answer came
  int status = 0;
  std::string body;
};

class RestSecurityTest : public ::testing::TestWithParam<bool> {
 protected:
  bool mutual_tls() const { return GetParam(); }

  void SetUp() override {
    ASSERT_TRUE(WriteSelfSignedCertificate(Path("key.pem"), Path("cert.pem")).ok());
    std::ofstream(Path("token")) << kToken << "\n";
    // Every process shares the identity: the certificate is its own CA.
    cluster_ = std::make_unique<LocalCluster>(LocalClusterOptions{
        .workers = 2,
        .conf = {"alluvium.security.tls.enabled=true",
                 "alluvium.security.tls.cert.file=" + Path("cert.pem"),
                 "alluvium.security.tls.key.file=" + Path("key.pem"),
                 "alluvium.security.tls.ca.file=" + Path("cert.pem"),
                 fmt::format("alluvium.security.tls.client.auth={}", mutual_tls()),
                 "alluvium.security.token.file=" + Path("token")}});
    Status started = cluster_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }

  std::string Path(const std::string& name) const { return (dir_.path() / name).string(); }

  // curl to the REST API: `scheme` "https" or "http", `auth` curl options for TLS and token.
  CurlReply Curl(const std::string& method, const std::string& path, const std::string& body,
                 const std::string& auth, const std::string& scheme = "https") const {
    const CommandResult run = RunCommand(
        fmt::format("curl -sS --max-time 20 -X {} -H 'Content-Type: application/json' -d '{}' "
                    "-w '\\n%{{http_code}}' {} {}://127.0.0.1:{}{}",
                    method, body, auth, scheme, cluster_->web_port(), path),
        dir_.path() / "curl.stderr");
    CurlReply reply{.exit_code = run.exit_code};
    const size_t last = run.output.rfind('\n');
    if (last != std::string::npos) {
      reply.status = std::atoi(run.output.c_str() + last + 1);
      reply.body = run.output.substr(0, last);
    }
    return reply;
  }

  // The CA, and this client's certificate under mutual TLS.
  std::string TlsOptions() const {
    std::string options = "--cacert " + Path("cert.pem");
    if (mutual_tls()) options += " --cert " + Path("cert.pem") + " --key " + Path("key.pem");
    return options;
  }

  ScopedTempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
};

TEST_P(RestSecurityTest, CliLoadsAndCallersWithoutTheTokenAreRefused) {
  WriteRandomFile(cluster_->ufs_root() / "sec" / "a.bin", 300 << 10, 1);
  WriteRandomFile(cluster_->ufs_root() / "other" / "b.bin", 100 << 10, 2);

  // The CLI reads TLS and the token from the cluster's configuration.
  const CommandResult load = cluster_->Cli("job load /sec --wait");
  EXPECT_EQ(load.exit_code, 0) << load.output << load.errors;
  EXPECT_EQ(cluster_->LoadProgress({{"path", "/sec"}})["mJobState"], "SUCCEEDED");

  const std::string submit = "/api/v1/master/submit_job/load";
  const std::string other = R"({"path": "/other"})";
  for (const std::string& auth :
       {TlsOptions(), TlsOptions() + " -H 'Authorization: Bearer wrong-token'"}) {
    const CurlReply refused = Curl("POST", submit, other, auth);
    EXPECT_EQ(refused.status, 401) << auth << ": " << refused.body;
    EXPECT_EQ(json::parse(refused.body, nullptr, false).value("error", ""), "UNAUTHENTICATED")
        << refused.body;
  }
  // Nothing was done: no load of /other exists.
  EXPECT_EQ(cluster_->LoadProgress({{"path", "/other"}})["httpStatus"], 404);

  // As docs/security.md has it: the CA, (the certificate,) the token.
  const std::string with_token =
      TlsOptions() + fmt::format(" -H 'Authorization: Bearer {}'", kToken);
  const CurlReply listed = Curl("GET", "/api/v1/master/list_job", "", with_token);
  EXPECT_EQ(listed.status, 200) << listed.body;
  EXPECT_NE(listed.body.find("/sec"), std::string::npos) << listed.body;
  EXPECT_EQ(listed.body.find("/other"), std::string::npos) << listed.body;
}

TEST_P(RestSecurityTest, WithoutTlsNoAnswer) {
  // Plain HTTP to the TLS port: the handshake fails, nothing is answered.
  const std::string token = fmt::format("-H 'Authorization: Bearer {}'", kToken);
  const CurlReply plain = Curl("GET", "/api/v1/master/list_job", "", token, "http");
  EXPECT_NE(plain.exit_code, 0);
  EXPECT_EQ(plain.status, 0) << plain.body;
  if (mutual_tls()) {
    // Trusting the server but presenting no certificate: refused in the handshake.
    const CurlReply anonymous =
        Curl("GET", "/api/v1/master/list_job", "", "--cacert " + Path("cert.pem") + " " + token);
    EXPECT_NE(anonymous.exit_code, 0);
    EXPECT_EQ(anonymous.status, 0) << anonymous.body;
  }
  // The coordinator still serves.
  EXPECT_EQ(cluster_->Http("GET", "/api/v1/master/list_job").status, 200);
}

INSTANTIATE_TEST_SUITE_P(Tls, RestSecurityTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "MutualTls" : "ServerTls"; });

}  // namespace
}  // namespace alluvium::testing
