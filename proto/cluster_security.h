// How the cluster's SecuritySettings (common/security.h) apply to gRPC: the credentials of
// channels and servers (TLS when on, with mutual TLS when asked), and the cluster token, which
// every channel sends in its calls' metadata and every handler checks before doing anything.
#pragma once

#include <memory>
#include <string_view>

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/client_interceptor.h>

#include "common/security.h"

namespace alluvium::rpc {

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(const SecuritySettings& security);
std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const SecuritySettings& security);

// What a channel needs so that its calls carry the token; empty when there is none.
std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
TokenInterceptors(const SecuritySettings& security);

// The first line of every RPC handler: OK when the call carries the cluster's token (or none is
// required), else UNAUTHENTICATED, and the handler must return that with nothing done.
grpc::Status Authenticate(const grpc::ServerContext& context, std::string_view token);

}  // namespace alluvium::rpc
