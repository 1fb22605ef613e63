// A throwaway TLS identity for test servers on 127.0.0.1: an EC P-256 key and a self-signed
// certificate for IP 127.0.0.1, valid for a day. The certificate is its own CA, so a client
// trusts the server by taking cert_path as its CA bundle.
#pragma once

#include <filesystem>

#include "common/status.h"

namespace alluvium::testing {

Status WriteSelfSignedCertificate(const std::filesystem::path& key_path,
                                  const std::filesystem::path& cert_path);

}  // namespace alluvium::testing
