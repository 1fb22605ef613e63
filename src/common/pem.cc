#include "common/pem.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <fmt/format.h>

namespace alluvium::pem {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

Bio MemoryBio(std::string_view pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

Status Invalid(std::string_view what, std::string_view problem) {
  const std::string reason = TakeErrors();
  return InvalidArgument(reason.empty() ? fmt::format("{}: {}", what, problem)
                                        : fmt::format("{}: {} ({})", what, problem, reason));
}

}  // namespace

void X509Free::operator()(X509* cert) const { X509_free(cert); }
void PKeyFree::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
void X509StoreFree::operator()(X509_STORE* store) const { X509_STORE_free(store); }

std::string TakeErrors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(e, buffer, sizeof buffer);
    if (!out.empty()) out += "; ";
    out += buffer;
  }
  return out;
}

Result<std::vector<Certificate>> Certificates(std::string_view pem, std::string_view what) {
  ERR_clear_error();
  Bio bio = MemoryBio(pem);
  if (!bio) return Invalid(what, "out of memory");
  std::vector<Certificate> out;
  while (true) {
    Certificate cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    out.push_back(std::move(cert));
  }
  // The loop ends at the end of the text (PEM_R_NO_START_LINE) or at a block that is not one.
  const unsigned long last = ERR_peek_last_error();
  if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
    ERR_clear_error();
  }
  if (ERR_peek_error() != 0) return Invalid(what, "a certificate does not parse");
  if (out.empty()) return Invalid(what, "no PEM certificate");
  return out;
}

Result<PrivateKey> Key(std::string_view pem, std::string_view what) {
  ERR_clear_error();
  Bio bio = MemoryBio(pem);
  if (!bio) return Invalid(what, "out of memory");
  // OpenSSL's default callback would prompt on the terminal for an encrypted key's passphrase.
  pem_password_cb* no_passphrase = [](char*, int, int, void*) { return -1; };
  PrivateKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) return Invalid(what, "no usable PEM private key (an encrypted one is not supported)");
  return key;
}

Result<CertStore> Store(std::string_view pem, std::string_view what) {
  ALLUVIUM_ASSIGN_OR_RETURN(std::vector<Certificate> certs, Certificates(pem, what));
  CertStore store(X509_STORE_new());
  if (!store) return Invalid(what, "out of memory");
  for (const Certificate& cert : certs) {
    // Takes its own reference.
    if (X509_STORE_add_cert(store.get(), cert.get()) != 1) {
      return Invalid(what, "cannot add a CA certificate");
    }
  }
  return store;
}

}  // namespace alluvium::pem
