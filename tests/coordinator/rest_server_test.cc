// RestServer's security on 127.0.0.1 with real sockets: TLS (tls_transport) with a certificate
// made per run, mutual TLS, and the cluster token, observed with cpp-httplib and raw sockets.
#include "coordinator/rest/rest_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/pem.h"
#include "testing/scoped_temp_dir.h"
#include "testing/self_signed_cert.h"

namespace alluvium::coordinator {
namespace {

constexpr char kToken[] = "0123456789abcdef-cluster-token";
constexpr char kPath[] = "/api/v1/master/info";

struct Identity {
  std::string cert_pem;
  std::string key_pem;
};

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class RestServerSecurityTest : public ::testing::Test {
 protected:
  // httplib's TLS client writes with write(): a server that refused it would end the test with
  // SIGPIPE instead of a failed request.
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }

  // A fresh key and self-signed certificate for 127.0.0.1 (its own CA).
  Identity NewIdentity(const std::string& name) {
    const auto key = dir_.path() / (name + ".key");
    const auto cert = dir_.path() / (name + ".crt");
    Status written = testing::WriteSelfSignedCertificate(key, cert);
    EXPECT_TRUE(written.ok()) << written;
    return {ReadAll(cert), ReadAll(key)};
  }

  // Starts a server with one GET and one POST route that count their calls.
  void Start(SecuritySettings security) {
    server_ = std::make_unique<RestServer>(std::move(security));
    server_->Get(kPath, [this](const HttpRequest&) -> Result<std::string> {
      ++calls_;
      return std::string(R"({"ok": true})");
    });
    server_->Post("/api/v1/master/submit_job/load",
                  [this](const HttpRequest&) -> Result<std::string> {
                    ++calls_;
                    return std::string("{}");
                  });
    Result<int> port = server_->Start("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
  }

  static SecuritySettings TokenOnly() {
    SecuritySettings s;
    s.token = kToken;
    return s;
  }

  SecuritySettings Tls(const Identity& server, const std::string& client_ca = "") {
    SecuritySettings s;
    s.tls = true;
    s.tls_settings = {.cert_pem = server.cert_pem,
                      .key_pem = server.key_pem,
                      .ca_pem = client_ca,
                      .require_client_cert = !client_ca.empty()};
    return s;
  }

  // An HTTPS client trusting `ca_pem`, presenting `client` when given.
  std::unique_ptr<httplib::SSLClient> HttpsClient(const std::string& ca_pem,
                                                  const Identity* client = nullptr) {
    std::unique_ptr<httplib::SSLClient> c;
    if (client == nullptr) {
      c = std::make_unique<httplib::SSLClient>("127.0.0.1", port_);
    } else {
      auto certs = pem::Certificates(client->cert_pem, "client certificate");
      auto key = pem::Key(client->key_pem, "client key");
      EXPECT_TRUE(certs.ok() && key.ok());
      c = std::make_unique<httplib::SSLClient>("127.0.0.1", port_, certs->front().get(),
                                               key->get());
    }
    auto store = pem::Store(ca_pem, "CA");
    EXPECT_TRUE(store.ok()) << store.status();
    c->set_ca_cert_store(store->release());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(5, 0);
    c->set_read_timeout(5, 0);
    return c;
  }

  // Sends `request` over plain TCP and returns whatever comes back before the server closes.
  std::string RawExchange(const std::string& request) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{.tv_sec = 15, .tv_usec = 0};  // the server's handshake deadline is 10 s
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    std::string response;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
      char buffer[4096];
      ssize_t n;
      while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) response.append(buffer, n);
      EXPECT_EQ(n, 0) << "the server neither answered nor closed: errno " << errno;
    }
    ::close(fd);
    return response;
  }

  static void ExpectUnauthenticated(const httplib::Result& res) {
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 401);
    EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Bearer");
    const auto body = nlohmann::json::parse(res->body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << res->body;
    EXPECT_EQ(body["error"], "UNAUTHENTICATED");
    EXPECT_EQ(res->body.find(kToken), std::string::npos) << "the token is never quoted";
  }

  testing::ScopedTempDir dir_;
  std::atomic<int> calls_{0};
  std::unique_ptr<RestServer> server_;
  int port_ = 0;
};

TEST_F(RestServerSecurityTest, HttpsRoundTripWithTheCaTrusted) {
  const Identity server = NewIdentity("server");
  Start(Tls(server));
  auto res = HttpsClient(server.cert_pem)->Get(kPath);
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, R"({"ok": true})");
  EXPECT_EQ(calls_, 1);
}

TEST_F(RestServerSecurityTest, ClientTrustingAnotherCaRefusesTheServer) {
  const Identity server = NewIdentity("server");
  const Identity other = NewIdentity("other");
  Start(Tls(server));
  auto res = HttpsClient(other.cert_pem)->Get(kPath);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error(), httplib::Error::SSLServerVerification);
  EXPECT_EQ(calls_, 0);
}

TEST_F(RestServerSecurityTest, PlainHttpToTheTlsPortIsClosedAndTheServerGoesOn) {
  const Identity server = NewIdentity("server");
  Start(Tls(server));
  const std::string answer =
      RawExchange(fmt::format("GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", kPath));
  EXPECT_FALSE(answer.starts_with("HTTP/")) << answer;
  EXPECT_EQ(calls_, 0);
  // Garbage that is not even HTTP, then a real client: still served.
  (void)RawExchange(std::string(3000, '\x16'));
  auto res = HttpsClient(server.cert_pem)->Get(kPath);
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
}

TEST_F(RestServerSecurityTest, MissingTokenIs401AndNoHandlerRuns) {
  Start(TokenOnly());
  httplib::Client client("127.0.0.1", port_);
  ExpectUnauthenticated(client.Get(kPath));
  ExpectUnauthenticated(
      client.Post("/api/v1/master/submit_job/load", R"({"path": "/"})", "application/json"));
  // Nor does it learn which paths exist, /metrics-like ones included.
  ExpectUnauthenticated(client.Get("/no/such/path"));
  // Another scheme is no token either.
  ExpectUnauthenticated(client.Get(kPath, {{"Authorization", "Basic dXNlcjpwYXNz"}}));
  EXPECT_EQ(calls_, 0);
}

TEST_F(RestServerSecurityTest, WrongTokenIs401AndNoHandlerRuns) {
  Start(TokenOnly());
  httplib::Client client("127.0.0.1", port_);
  client.set_bearer_token_auth("not-the-token");
  auto res = client.Post("/api/v1/master/submit_job/load", R"({"path": "/"})", "application/json");
  ExpectUnauthenticated(res);
  EXPECT_NE(res->body.find("wrong cluster token"), std::string::npos) << res->body;
  client.set_bearer_token_auth(std::string(kToken) + "x");  // a prefix is not enough
  ExpectUnauthenticated(client.Get(kPath));
  EXPECT_EQ(calls_, 0);
}

TEST_F(RestServerSecurityTest, RightTokenIsServed) {
  Start(TokenOnly());
  httplib::Client client("127.0.0.1", port_);
  client.set_bearer_token_auth(kToken);
  auto res = client.Get(kPath);
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  // The scheme in any case, extra spaces around the token.
  auto loose = client.Get(kPath, {{"Authorization", fmt::format("bearer   {} ", kToken)}});
  ASSERT_TRUE(loose) << httplib::to_string(loose.error());
  EXPECT_EQ(loose->status, 200);
  EXPECT_EQ(calls_, 2);
}

TEST_F(RestServerSecurityTest, TokenOverTls) {
  const Identity server = NewIdentity("server");
  SecuritySettings security = Tls(server);
  security.token = kToken;
  Start(security);
  auto client = HttpsClient(server.cert_pem);
  ExpectUnauthenticated(client->Get(kPath));
  client->set_bearer_token_auth(kToken);
  auto res = client->Get(kPath);
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(calls_, 1);
}

TEST_F(RestServerSecurityTest, MutualTlsRefusesAClientWithoutACertificate) {
  const Identity server = NewIdentity("server");
  const Identity client = NewIdentity("client");
  Start(Tls(server, /*client_ca=*/client.cert_pem));
  auto refused = HttpsClient(server.cert_pem)->Get(kPath);
  EXPECT_FALSE(refused) << refused->status;
  // A certificate the server's CA did not issue is refused too.
  const Identity stranger = NewIdentity("stranger");
  auto stranger_res = HttpsClient(server.cert_pem, &stranger)->Get(kPath);
  EXPECT_FALSE(stranger_res) << stranger_res->status;
  EXPECT_EQ(calls_, 0);
  auto accepted = HttpsClient(server.cert_pem, &client)->Get(kPath);
  ASSERT_TRUE(accepted) << httplib::to_string(accepted.error());
  EXPECT_EQ(accepted->status, 200);
  EXPECT_EQ(calls_, 1);
}

TEST_F(RestServerSecurityTest, UnusableCertificateOrKeyFailsStart) {
  const Identity server = NewIdentity("server");
  const Identity other = NewIdentity("other");
  SecuritySettings mismatched = Tls(server);
  mismatched.tls_settings.key_pem = other.key_pem;
  RestServer a(mismatched);
  EXPECT_EQ(a.Start("127.0.0.1", 0).status().code(), Code::kInvalidArgument);
  SecuritySettings garbage = Tls(server);
  garbage.tls_settings.cert_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  RestServer b(garbage);
  Result<int> started = b.Start("127.0.0.1", 0);
  EXPECT_EQ(started.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(started.status().message().find("PRIVATE KEY"), std::string::npos);
}

TEST_F(RestServerSecurityTest, DispatchChecksTheTokenFirst) {
  RestServer server(TokenOnly());
  server.Get(kPath, [this](const HttpRequest&) -> Result<std::string> {
    ++calls_;
    return std::string("{}");
  });
  HttpRequest request{.method = "GET", .path = kPath};
  EXPECT_EQ(server.Dispatch(request).status, 401);
  request.bearer_token = kToken;
  EXPECT_EQ(server.Dispatch(request).status, 200);
  EXPECT_EQ(calls_, 1);
}

}  // namespace
}  // namespace alluvium::coordinator
