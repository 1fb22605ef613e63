#include "coordinator/rest/tls_transport.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/pem.h"
#include "common/status_mapping.h"

namespace alluvium::coordinator {
namespace {

using Clock = TransportClock;

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;

// OpenSSL's socket BIO writes with write(), which raises SIGPIPE, ending the coordinator, when
// the client has gone (say it hung up on a certificate it does not trust). This one sends with
// MSG_NOSIGNAL; like the plain transport, it never blocks.
int SocketOf(BIO* bio) { return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(bio))); }

bool WouldBlock() { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR; }

int SocketWrite(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  const ssize_t n =
      ::send(SocketOf(bio), data, static_cast<size_t>(size), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n < 0 && WouldBlock()) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

int SocketRead(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::recv(SocketOf(bio), data, static_cast<size_t>(size), MSG_DONTWAIT);
  if (n < 0 && WouldBlock()) BIO_set_retry_read(bio);
  return static_cast<int>(n);
}

long SocketCtrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

// Made once; lives as long as the process (BIOs made from it may outlive any owner of it).
const BIO_METHOD* SocketMethod() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "alluvium socket");
    if (m != nullptr) {
      BIO_meth_set_write(m, SocketWrite);
      BIO_meth_set_read(m, SocketRead);
      BIO_meth_set_ctrl(m, SocketCtrl);
    }
    return m;
  }();
  return method;
}

Status TlsError(std::string_view what) {
  const std::string reason = pem::TakeErrors();
  return InvalidArgument(reason.empty() ? std::string(what) : fmt::format("{} ({})", what, reason));
}

// Waits for what the last OpenSSL call on `ssl` (which returned `ret`) needs. OK to call it
// again; kDeadlineExceeded; or the connection's failure.
Status AwaitRetry(SSL* ssl, int fd, int ret, Clock::time_point deadline, std::string_view op) {
  switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ:
      if (!WaitFor(fd, POLLIN, deadline)) return DeadlineExceeded(fmt::format("{} timed out", op));
      return OkStatus();
    case SSL_ERROR_WANT_WRITE:
      if (!WaitFor(fd, POLLOUT, deadline)) return DeadlineExceeded(fmt::format("{} timed out", op));
      return OkStatus();
    case SSL_ERROR_ZERO_RETURN:
      return Unavailable(fmt::format("{}: the peer closed the connection", op));
    case SSL_ERROR_SYSCALL: {
      const std::string reason = pem::TakeErrors();
      return Unavailable(
          fmt::format("{}: connection failed{}", op, reason.empty() ? "" : " (" + reason + ")"));
    }
    default:
      return Unavailable(fmt::format("{} failed ({})", op, pem::TakeErrors()));
  }
}

class TlsTransport final : public Transport {
 public:
  TlsTransport(SslPtr ssl, int fd) : ssl_(std::move(ssl)), fd_(fd) {}

  Result<size_t> ReadSome(void* data, size_t size, Clock::time_point deadline) override {
    // SSL_read first: a record may already be decrypted and buffered, with nothing to poll for.
    while (true) {
      size_t n = 0;
      ERR_clear_error();
      const int ret = SSL_read_ex(ssl_.get(), data, size, &n);
      if (ret == 1) return n;
      // A TLS close, or (SSL_OP_IGNORE_UNEXPECTED_EOF) a TCP close without one: the peer is
      // gone, as a plain recv() returning 0 says.
      if (SSL_get_error(ssl_.get(), ret) == SSL_ERROR_ZERO_RETURN) return size_t{0};
      ALLUVIUM_RETURN_IF_ERROR(AwaitRetry(ssl_.get(), fd_, ret, deadline, "TLS read"));
    }
  }

  Status WriteAll(std::string_view data, Clock::time_point deadline) override {
    while (!data.empty()) {
      size_t n = 0;
      ERR_clear_error();
      const int ret = SSL_write_ex(ssl_.get(), data.data(), data.size(), &n);
      if (ret == 1) {
        data.remove_prefix(n);
        continue;
      }
      Status wait = AwaitRetry(ssl_.get(), fd_, ret, deadline, "TLS write");
      if (wait.code() == Code::kDeadlineExceeded) {
        return DeadlineExceeded("the client did not take the response in time");
      }
      ALLUVIUM_RETURN_IF_ERROR(wait);
    }
    return OkStatus();
  }

  void Close() override {
    // One try at a close_notify (non-blocking: it is sent or not); then as plain TCP.
    ERR_clear_error();
    (void)SSL_shutdown(ssl_.get());
    ERR_clear_error();
    LingerAndDrop(fd_);
  }

 private:
  SslPtr ssl_;
  const int fd_;
};

}  // namespace

struct TlsServerContext::Ctx {
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx;
};

TlsServerContext::TlsServerContext(std::unique_ptr<Ctx> ctx) : ctx_(std::move(ctx)) {}
TlsServerContext::~TlsServerContext() = default;

Result<std::unique_ptr<TlsServerContext>> TlsServerContext::Create(const TlsSettings& settings) {
  ERR_clear_error();
  auto c = std::make_unique<Ctx>();
  c->ctx.reset(SSL_CTX_new(TLS_server_method()));
  SSL_CTX* ctx = c->ctx.get();
  if (ctx == nullptr) return TlsError("cannot create a TLS context");
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return TlsError("cannot require TLS 1.2");
  }
  // Writes may complete in parts and be retried from a moved buffer; the loops above rely on it.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // A client that renegotiates could make the server redo handshakes at will; and a client
  // that closes TCP without a close_notify (after its answer) is not an error.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);

  ALLUVIUM_ASSIGN_OR_RETURN(std::vector<pem::Certificate> chain,
                            pem::Certificates(settings.cert_pem, "TLS certificate"));
  if (SSL_CTX_use_certificate(ctx, chain.front().get()) != 1) {
    return TlsError("TLS certificate is not usable");
  }
  for (size_t i = 1; i < chain.size(); ++i) {
    // add1: takes its own reference, ours is freed with `chain`.
    if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1) {
      return TlsError("TLS certificate chain is not usable");
    }
  }
  ALLUVIUM_ASSIGN_OR_RETURN(pem::PrivateKey key, pem::Key(settings.key_pem, "TLS key"));
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return TlsError("TLS key does not match the TLS certificate");
  }

  if (settings.require_client_cert) {
    ALLUVIUM_ASSIGN_OR_RETURN(std::vector<pem::Certificate> cas,
                              pem::Certificates(settings.ca_pem, "TLS CA"));
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    for (const pem::Certificate& ca : cas) {
      // Trusted for client certificates, and named to clients choosing which one to send.
      if (X509_STORE_add_cert(store, ca.get()) != 1 || SSL_CTX_add_client_CA(ctx, ca.get()) != 1) {
        return TlsError("TLS CA is not usable");
      }
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  return std::make_unique<TlsServerContext>(std::move(c));
}

Result<std::unique_ptr<Transport>> TlsServerContext::Accept(int fd,
                                                            Clock::time_point deadline) const {
  // OpenSSL reads and writes the socket itself; non-blocking, so poll() keeps the deadline.
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return FromErrno(errno, "make the connection non-blocking");
  }
  ERR_clear_error();
  SslPtr ssl(SSL_new(ctx_->ctx.get()));
  BIO* bio = SocketMethod() != nullptr ? BIO_new(SocketMethod()) : nullptr;
  if (!ssl || bio == nullptr) {
    BIO_free(bio);
    return TlsError("cannot start a TLS session");
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl.get(), bio, bio);  // the session owns it now
  while (true) {
    ERR_clear_error();
    const int ret = SSL_accept(ssl.get());
    if (ret == 1) break;
    Status wait = AwaitRetry(ssl.get(), fd, ret, deadline, "TLS handshake");
    if (!wait.ok()) {
      if (const long verify = SSL_get_verify_result(ssl.get()); verify != X509_V_OK) {
        return wait.WithContext(
            fmt::format("client certificate: {}", X509_verify_cert_error_string(verify)));
      }
      return wait;
    }
  }
  return std::unique_ptr<Transport>(std::make_unique<TlsTransport>(std::move(ssl), fd));
}

}  // namespace alluvium::coordinator
