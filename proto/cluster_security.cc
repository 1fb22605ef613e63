#include "proto/cluster_security.h"

#include <string>

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include "proto/grpc_status.h"

namespace alluvium::rpc {
namespace {

// Adds the token to the initial metadata of every call of its channel.
class TokenInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit TokenInterceptor(std::string token) : token_(std::move(token)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace(std::string(kTokenMetadataKey), token_);
    }
    methods->Proceed();
  }

 private:
  const std::string token_;
};

class TokenInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit TokenInterceptorFactory(std::string token) : token_(std::move(token)) {}

  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new TokenInterceptor(token_);  // gRPC's interface: the call owns and deletes it
  }

 private:
  const std::string token_;
};

}  // namespace

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(const SecuritySettings& security) {
  if (!security.tls) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = security.tls_settings.ca_pem;  // empty: gRPC's default roots
  ssl.pem_private_key = security.tls_settings.key_pem;
  ssl.pem_cert_chain = security.tls_settings.cert_pem;
  return grpc::SslCredentials(ssl);
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const SecuritySettings& security) {
  if (!security.tls) return grpc::InsecureServerCredentials();
  const TlsSettings& t = security.tls_settings;
  grpc::SslServerCredentialsOptions ssl(
      t.require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  ssl.pem_root_certs = t.ca_pem;
  ssl.pem_key_cert_pairs.push_back({t.key_pem, t.cert_pem});
  return grpc::SslServerCredentials(ssl);
}

std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
TokenInterceptors(const SecuritySettings& security) {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> out;
  if (!security.token.empty())
    out.push_back(std::make_unique<TokenInterceptorFactory>(security.token));
  return out;
}

grpc::Status Authenticate(const grpc::ServerContext& context, std::string_view token) {
  if (token.empty()) return grpc::Status::OK;
  const auto& metadata = context.client_metadata();
  const auto presented =
      metadata.find(grpc::string_ref(kTokenMetadataKey.data(), kTokenMetadataKey.size()));
  if (presented == metadata.end()) return ToGrpc(TokenRefusal(false));
  const std::string_view value(presented->second.data(), presented->second.size());
  return TokenMatches(value, token) ? grpc::Status::OK : ToGrpc(TokenRefusal(true));
}

}  // namespace alluvium::rpc
