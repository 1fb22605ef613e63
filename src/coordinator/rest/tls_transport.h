// TLS for the REST server: a context built once from the cluster's certificate, key and CA
// (common/security.h), and a Transport per connection that runs the handshake and then
// encrypts over the connection's socket, with the same poll() and deadline discipline as plain
// TCP (non-blocking OpenSSL calls, waiting for whatever SSL_ERROR_WANT_READ/WRITE asks).
// TLS 1.2 at least; under mutual TLS a client without a certificate issued by the CA fails the
// handshake. A TlsServerContext is immutable after Create() and safe for concurrent use.
#pragma once

#include <memory>

#include "common/security.h"
#include "coordinator/rest/transport.h"

namespace alluvium::coordinator {

class TlsServerContext {
 public:
  // kInvalidArgument when the certificate, key or CA does not parse or the key does not match
  // the certificate.
  static Result<std::unique_ptr<TlsServerContext>> Create(const TlsSettings& settings);
  ~TlsServerContext();

  // Runs the server side of the handshake on a connected socket (made non-blocking) by
  // `deadline`. An error when the peer does not speak TLS (say plain HTTP), presents no
  // acceptable certificate under mutual TLS, or is too slow; the caller closes the socket.
  Result<std::unique_ptr<Transport>> Accept(int fd, TransportClock::time_point deadline) const;

  struct Ctx;  // defined in the .cc; only Create() builds one
  explicit TlsServerContext(std::unique_ptr<Ctx> ctx);

 private:
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace alluvium::coordinator
