// The cluster's transport security and shared token (the alluvium.security.* keys), loaded once
// per process and handed to whatever opens or serves a connection: gRPC channels and servers
// (proto/channel.h), the REST server and its clients. Every process of a cluster reads the same
// settings; a server uses the certificate and key, a client the CA bundle (and its own
// certificate under mutual TLS), and all of them the token.
//
// The token is a shared secret, not a user identity: it keeps processes that are not part of
// the cluster (a second cluster's workers, a stray client, anyone who can reach a port) from
// joining it, reading from it or driving its jobs. It travels in gRPC metadata
// (kTokenMetadataKey) and the HTTP Authorization header; over a network other hosts can
// observe, turn TLS on too.
#pragma once

#include <string>
#include <string_view>

#include "common/config.h"
#include "common/status.h"

namespace alluvium {

// The gRPC metadata key that carries the cluster token.
inline constexpr std::string_view kTokenMetadataKey = "x-alluvium-token";

struct TlsSettings {
  std::string cert_pem;  // this process's certificate chain; empty for a client without one
  std::string key_pem;   // its private key
  std::string ca_pem;    // what peers' certificates must chain to; empty: the system's store
  bool require_client_cert = false;  // servers: mutual TLS
};

struct SecuritySettings {
  bool tls = false;
  TlsSettings tls_settings;  // meaningful when tls
  std::string token;         // empty: no token required or sent

  // Reads the files the alluvium.security.* keys name. kInvalidArgument, naming the key, for a
  // file that cannot be read, a PEM file without a PEM block, an empty token file, or TLS asked
  // for by a server without a certificate and key (`server`) or with client auth and no CA.
  static Result<SecuritySettings> FromConfig(const Config& config, bool server);
};

// A new cluster identity ("cluster-" and 64 random bits in hex), for a coordinator's first start
// or a `cluster start` run dir.
std::string NewClusterId();

// Whether `presented` is the cluster's token, in time independent of where they differ.
// Nothing required (`expected` empty) matches anything.
bool TokenMatches(std::string_view presented, std::string_view expected);

// The error a caller without the right token gets; says which, never what the token is.
Status TokenRefusal(bool presented);

}  // namespace alluvium
