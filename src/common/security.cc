#include "common/security.h"

#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "common/config_keys.h"

namespace alluvium {
namespace {

Result<std::string> ReadWhole(const KeyInfo& key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  if (!in || !(out << in.rdbuf())) {
    return InvalidArgument(fmt::format("{}: cannot read '{}'", key.name, path));
  }
  return std::move(out).str();
}

// The PEM file at the key's path; "" when the key is unset.
Result<std::string> ReadPem(const Config& config, const KeyInfo& key) {
  const std::string path = config.GetPath(key);
  if (path.empty()) return std::string();
  ALLUVIUM_ASSIGN_OR_RETURN(std::string pem, ReadWhole(key, path));
  if (pem.find("-----BEGIN ") == std::string::npos) {
    return InvalidArgument(fmt::format("{}: '{}' holds no PEM block", key.name, path));
  }
  return pem;
}

}  // namespace

Result<SecuritySettings> SecuritySettings::FromConfig(const Config& config, bool server) {
  SecuritySettings s;
  if (const std::string path = config.GetPath(keys::kSecurityTokenFile); !path.empty()) {
    ALLUVIUM_ASSIGN_OR_RETURN(std::string token, ReadWhole(keys::kSecurityTokenFile, path));
    // One line, as `openssl rand -hex 32 > token` writes it.
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
      token.pop_back();
    if (token.empty()) {
      return InvalidArgument(fmt::format("{}: '{}' is empty", keys::kSecurityTokenFile.name, path));
    }
    s.token = std::move(token);
  }
  s.tls = config.GetBool(keys::kSecurityTlsEnabled);
  if (!s.tls) return s;
  TlsSettings& t = s.tls_settings;
  ALLUVIUM_ASSIGN_OR_RETURN(t.cert_pem, ReadPem(config, keys::kSecurityTlsCertFile));
  ALLUVIUM_ASSIGN_OR_RETURN(t.key_pem, ReadPem(config, keys::kSecurityTlsKeyFile));
  ALLUVIUM_ASSIGN_OR_RETURN(t.ca_pem, ReadPem(config, keys::kSecurityTlsCaFile));
  t.require_client_cert = config.GetBool(keys::kSecurityTlsClientAuth);
  if (t.cert_pem.empty() != t.key_pem.empty()) {
    return InvalidArgument(fmt::format("{} and {} are set together or not at all",
                                       keys::kSecurityTlsCertFile.name,
                                       keys::kSecurityTlsKeyFile.name));
  }
  if (server && t.cert_pem.empty()) {
    return InvalidArgument(
        fmt::format("{} is on: a server needs {} and {}", keys::kSecurityTlsEnabled.name,
                    keys::kSecurityTlsCertFile.name, keys::kSecurityTlsKeyFile.name));
  }
  if (server && t.require_client_cert && t.ca_pem.empty()) {
    return InvalidArgument(fmt::format("{} needs {} to check client certificates against",
                                       keys::kSecurityTlsClientAuth.name,
                                       keys::kSecurityTlsCaFile.name));
  }
  return s;
}

std::string NewClusterId() {
  std::random_device random;
  return fmt::format("cluster-{:08x}{:08x}", random(), random());
}

bool TokenMatches(std::string_view presented, std::string_view expected) {
  if (expected.empty()) return true;
  // Every byte of the expected token is compared whatever the presented one holds.
  unsigned char differ = presented.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned char p = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
    differ |= static_cast<unsigned char>(p ^ static_cast<unsigned char>(expected[i]));
  }
  return differ == 0;
}

Status TokenRefusal(bool presented) {
  return Unauthenticated(
      presented ? fmt::format("wrong cluster token (the one in {} of the cluster's configuration)",
                              keys::kSecurityTokenFile.name)
                : fmt::format("this cluster requires its token: set {} to the cluster's token file",
                              keys::kSecurityTokenFile.name));
}

}  // namespace alluvium
