#include "cli/rest_client.h"

#include <httplib.h>

#include "common/pem.h"

namespace alluvium::cli {
namespace {

Result<RestReply> Reply(const httplib::Result& res, const std::string& base,
                        std::chrono::milliseconds timeout) {
  if (res) return RestReply{res->status, res->body};
  switch (res.error()) {
    case httplib::Error::Connection:
    case httplib::Error::ConnectionTimeout:
      return Unavailable(
          fmt::format("cannot reach the coordinator at {}; is it running? "
                      "`alluvium cluster start` starts a local one",
                      base));
    case httplib::Error::Read:
      return Unavailable(fmt::format(
          "no HTTP answer from the coordinator at {} within {} ms (alluvium.user.rpc.timeout); "
          "is it running, is that its REST port, and does it take TLS ({})?",
          base, timeout.count(), keys::kSecurityTlsEnabled.name));
    case httplib::Error::SSLConnection:
      return Unavailable(fmt::format(
          "TLS handshake with the coordinator at {} failed: is {} on in the cluster too, and "
          "under mutual TLS are {} and {} this client's certificate and key?",
          base, keys::kSecurityTlsEnabled.name, keys::kSecurityTlsCertFile.name,
          keys::kSecurityTlsKeyFile.name));
    case httplib::Error::SSLServerVerification:
      return FailedPrecondition(fmt::format(
          "the coordinator's certificate at {} is not trusted: {} must name the CA that issued "
          "it, for this host name or IP",
          base, keys::kSecurityTlsCaFile.name));
    default:
      return Unavailable(fmt::format("request to the coordinator at {} failed ({})", base,
                                     httplib::to_string(res.error())));
  }
}

// HTTPS with the CA bundle (the system's without one) and, under mutual TLS, this process's
// certificate.
Result<std::unique_ptr<httplib::ClientImpl>> NewTlsClient(const std::string& host, int port,
                                                          const TlsSettings& tls) {
  std::unique_ptr<httplib::SSLClient> client;
  if (tls.cert_pem.empty()) {
    client = std::make_unique<httplib::SSLClient>(host, port);
  } else {
    ALLUVIUM_ASSIGN_OR_RETURN(std::vector<pem::Certificate> chain,
                              pem::Certificates(tls.cert_pem, keys::kSecurityTlsCertFile.name));
    ALLUVIUM_ASSIGN_OR_RETURN(pem::PrivateKey key,
                              pem::Key(tls.key_pem, keys::kSecurityTlsKeyFile.name));
    // Takes its own references.
    client = std::make_unique<httplib::SSLClient>(host, port, chain.front().get(), key.get());
  }
  if (!client->is_valid()) {
    return InvalidArgument(fmt::format("{} and {} do not make a usable TLS identity ({})",
                                       keys::kSecurityTlsCertFile.name,
                                       keys::kSecurityTlsKeyFile.name, pem::TakeErrors()));
  }
  if (!tls.ca_pem.empty()) {
    ALLUVIUM_ASSIGN_OR_RETURN(pem::CertStore store,
                              pem::Store(tls.ca_pem, keys::kSecurityTlsCaFile.name));
    client->set_ca_cert_store(store.release());  // the client's SSL_CTX owns it now
  }
  client->enable_server_certificate_verification(true);  // chain and host name
  return std::unique_ptr<httplib::ClientImpl>(std::move(client));
}

Result<std::unique_ptr<httplib::ClientImpl>> NewClient(const std::string& host, int port,
                                                       const SecuritySettings& security,
                                                       std::chrono::milliseconds timeout) {
  std::unique_ptr<httplib::ClientImpl> client;
  if (security.tls) {
    ALLUVIUM_ASSIGN_OR_RETURN(client, NewTlsClient(host, port, security.tls_settings));
  } else {
    client = std::make_unique<httplib::ClientImpl>(host, port);
  }
  client->set_connection_timeout(5, 0);
  client->set_read_timeout(timeout);
  client->set_write_timeout(timeout);
  if (!security.token.empty()) client->set_bearer_token_auth(security.token);
  return client;
}

}  // namespace

RestClient::RestClient(const Config& config)
    : host_(config.GetString(keys::kCoordinatorHostname)),
      port_(static_cast<int>(config.GetInt(keys::kCoordinatorWebPort))),
      timeout_(config.GetDuration(keys::kUserRpcTimeout)),
      security_(SecuritySettings::FromConfig(config, /*server=*/false)),
      base_(fmt::format("{}://{}:{}", security_.ok() && security_->tls ? "https" : "http", host_,
                        port_)) {}

Result<RestReply> RestClient::Post(const std::string& path, const std::string& json_body) const {
  return Send("POST", path, json_body);
}

Result<RestReply> RestClient::Get(const std::string& path) const { return Send("GET", path, ""); }

Result<RestReply> RestClient::Send(const std::string& method, const std::string& path,
                                   const std::string& json_body) const {
  ALLUVIUM_RETURN_IF_ERROR(security_.status());
  ALLUVIUM_ASSIGN_OR_RETURN(auto client, NewClient(host_, port_, *security_, timeout_));
  httplib::Request request;
  request.method = method;
  request.path = path;
  request.body = json_body;
  if (!json_body.empty()) request.set_header("Content-Type", "application/json");
  return Reply(client->send(request), base_, timeout_);
}

}  // namespace alluvium::cli
