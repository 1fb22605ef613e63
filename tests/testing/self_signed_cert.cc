#include "testing/self_signed_cert.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <memory>
#include <utility>

#include <fmt/format.h>

namespace alluvium::testing {
namespace {

template <auto Free>
struct FreeWith {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using PKey = std::unique_ptr<EVP_PKEY, FreeWith<EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, FreeWith<X509_free>>;
using Extension = std::unique_ptr<X509_EXTENSION, FreeWith<X509_EXTENSION_free>>;
using Bio = std::unique_ptr<BIO, FreeWith<BIO_free_all>>;

Status WritePem(const std::filesystem::path& path, auto write) {
  Bio bio(BIO_new_file(path.c_str(), "w"));
  if (bio == nullptr || write(bio.get()) != 1) {
    return InternalError(fmt::format("cannot write {}", path.string()));
  }
  return OkStatus();
}

}  // namespace

Status WriteSelfSignedCertificate(const std::filesystem::path& key_path,
                                  const std::filesystem::path& cert_path) {
  PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  Cert cert(X509_new());
  if (key == nullptr || cert == nullptr) return InternalError("OpenSSL could not make a key");
  constexpr long kDay = 24 * 3600;
  X509_set_version(cert.get(), 2);  // v3: extensions
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()),
                   static_cast<long>(std::chrono::system_clock::now().time_since_epoch() /
                                     std::chrono::seconds(1)));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), kDay);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  // Clients match an address against subjectAltName IP entries, not the common name.
  for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                                   std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    Extension ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (ext == nullptr || X509_add_ext(cert.get(), ext.get(), -1) != 1) {
      return InternalError(fmt::format("OpenSSL could not add extension '{}'", value));
    }
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return InternalError("OpenSSL could not sign the certificate");
  }
  ALLUVIUM_RETURN_IF_ERROR(WritePem(key_path, [&](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  }));
  return WritePem(cert_path, [&](BIO* bio) { return PEM_write_bio_X509(bio, cert.get()); });
}

}  // namespace alluvium::testing
