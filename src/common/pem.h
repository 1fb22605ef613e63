// OpenSSL objects parsed from PEM text in memory: the alluvium.security.tls.* files are read
// once into SecuritySettings (common/security.h), and OpenSSL's file-based loaders would read
// them again, maybe changed. The owning pointers free with OpenSSL's own functions. Pure
// functions; safe for concurrent use.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace alluvium::pem {

struct X509Free {
  void operator()(X509* cert) const;
};
struct PKeyFree {
  void operator()(EVP_PKEY* key) const;
};
struct X509StoreFree {
  void operator()(X509_STORE* store) const;
};
using Certificate = std::unique_ptr<X509, X509Free>;
using PrivateKey = std::unique_ptr<EVP_PKEY, PKeyFree>;
using CertStore = std::unique_ptr<X509_STORE, X509StoreFree>;

// Every certificate of `pem`, in order (a chain: the leaf first). kInvalidArgument, naming
// `what` and OpenSSL's reason, when it holds none or one does not parse.
Result<std::vector<Certificate>> Certificates(std::string_view pem, std::string_view what);

// The first private key of `pem` (PKCS#8, or traditional RSA/EC). kInvalidArgument as above;
// the message never quotes the key.
Result<PrivateKey> Key(std::string_view pem, std::string_view what);

// A verification store trusting every certificate of `pem`.
Result<CertStore> Store(std::string_view pem, std::string_view what);

// OpenSSL's queued errors as one line (and the queue emptied), for messages and logs.
std::string TakeErrors();

}  // namespace alluvium::pem
