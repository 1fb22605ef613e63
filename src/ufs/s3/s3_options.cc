#include "ufs/s3/s3_options.h"

#include <unistd.h>

#include <cctype>
#include <cstdlib>

#include "common/decimal.h"
#include "common/secrets.h"
#include "common/units.h"

namespace alluvium::ufs::s3 {
namespace {

// Alluxio's mount option names, so `fs mount --option s3a.accessKeyId=…` works as users know it.
const std::map<std::string, std::string, std::less<>> kAliases = {
    {"s3a.accessKeyId", kAccessKeyKey},
    {"s3a.secretKey", kSecretKeyKey},
    {"alluxio.underfs.s3.endpoint", kEndpointKey},
    {"alluxio.underfs.s3.endpoint.region", kRegionKey},
};

class Properties {
 public:
  explicit Properties(const std::map<std::string, std::string>& raw) {
    for (const auto& [key, value] : raw) {
      auto alias = kAliases.find(key);
      values_[alias != kAliases.end() ? alias->second : key] = value;
    }
  }

  // The property, else the first environment variable set, else "".
  std::string Get(std::string_view key, std::initializer_list<const char*> env = {}) const {
    if (auto it = values_.find(key); it != values_.end() && !it->second.empty()) return it->second;
    for (const char* name : env) {
      if (const char* v = std::getenv(name); v != nullptr && *v != '\0') return v;
    }
    return "";
  }

  Status Duration(std::string_view key, std::chrono::milliseconds& out) const {
    const std::string text = Get(key);
    if (text.empty()) return OkStatus();
    auto parsed = ParseDuration(text);
    if (!parsed.ok()) return Invalid(key, text, "a duration such as 30s");
    out = *parsed;
    return OkStatus();
  }

  Status Int(std::string_view key, int min, int max, int& out) const {
    const std::string text = Get(key);
    if (text.empty()) return OkStatus();
    const std::optional<int> value = ParseDecimal<int>(text);
    if (!value || *value < min || *value > max) {
      return Invalid(key, text, fmt::format("an integer from {} to {}", min, max));
    }
    out = *value;
    return OkStatus();
  }

  // Error messages reach clients and logs: a secret's value is masked (common/secrets.h).
  static Status Invalid(std::string_view key, std::string_view value, std::string_view expected) {
    return InvalidArgument(
        fmt::format("{}='{}': expected {}", key, MaskedValue(key, value), expected));
  }

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

bool IsIpAddressOrLocalhost(std::string_view host) {
  if (host == "localhost" || host.starts_with('[')) return true;
  return !host.empty() && host.find_first_not_of("0123456789.") == std::string_view::npos;
}

// Virtual-hosted addressing puts the bucket in a DNS name (and a TLS certificate's wildcard).
bool UsableAsHostLabel(std::string_view bucket) {
  for (char c : bucket) {
    if (c == '.' || c == '_' || std::isupper(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

std::string Endpoint::HostHeader() const {
  const bool default_port =
      port == 0 || (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
  return default_port ? host : fmt::format("{}:{}", host, port);
}

Result<Endpoint> Endpoint::Parse(std::string_view url) {
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return InvalidArgument(
        fmt::format("S3 endpoint '{}' must start with http:// or https://", url));
  }
  Endpoint e;
  e.scheme = std::string(url.substr(0, sep));
  if (e.scheme != "http" && e.scheme != "https") {
    return InvalidArgument(
        fmt::format("S3 endpoint '{}' must start with http:// or https://", url));
  }
  std::string_view rest = url.substr(sep + 3);
  while (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.empty() || rest.find_first_of("/?#@ ") != std::string_view::npos) {
    return InvalidArgument(
        fmt::format("S3 endpoint '{}' must be scheme://host[:port] with no path", url));
  }
  const size_t colon = rest.rfind(':');
  const bool has_port = colon != std::string_view::npos && rest.find(']', colon) == rest.npos;
  e.host = std::string(has_port ? rest.substr(0, colon) : rest);
  if (has_port) {
    const std::optional<int> port = ParseDecimal<int>(rest.substr(colon + 1));
    if (!port || *port <= 0 || *port > 65535) {
      return InvalidArgument(fmt::format("S3 endpoint '{}' has an invalid port", url));
    }
    e.port = *port;
  }
  if (e.host.empty()) return InvalidArgument(fmt::format("S3 endpoint '{}' has no host", url));
  return e;
}

Result<S3Options> S3Options::From(const std::map<std::string, std::string>& raw,
                                  std::string_view bucket) {
  const Properties props(raw);
  S3Options o;
  o.region = props.Get(kRegionKey, {"AWS_REGION", "AWS_DEFAULT_REGION"});
  if (o.region.empty()) o.region = "us-east-1";

  std::string endpoint = props.Get(kEndpointKey, {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"});
  if (endpoint.empty()) endpoint = fmt::format("https://s3.{}.amazonaws.com", o.region);
  ALLUVIUM_ASSIGN_OR_RETURN(o.endpoint, Endpoint::Parse(endpoint));

  // Credentials come as a set: a key from the mount must not pair with a secret from the
  // environment.
  o.credentials.access_key_id = props.Get(kAccessKeyKey);
  if (!o.credentials.access_key_id.empty()) {
    o.credentials.secret_access_key = props.Get(kSecretKeyKey);
    o.credentials.session_token = props.Get(kSessionTokenKey);
  } else {
    o.credentials.access_key_id = props.Get("", {"AWS_ACCESS_KEY_ID"});
    o.credentials.secret_access_key = props.Get("", {"AWS_SECRET_ACCESS_KEY"});
    o.credentials.session_token = props.Get("", {"AWS_SESSION_TOKEN"});
  }
  if (!o.credentials.access_key_id.empty() && o.credentials.secret_access_key.empty()) {
    return InvalidArgument(
        fmt::format("S3 access key '{}' is set without a secret key ({} or AWS_SECRET_ACCESS_KEY)",
                    o.credentials.access_key_id, kSecretKeyKey));
  }

  const std::string path_style = props.Get(kPathStyleKey);
  if (path_style.empty() || path_style == "auto") {
    // S3-compatible servers on an address or localhost have no per-bucket host names.
    o.path_style = IsIpAddressOrLocalhost(o.endpoint.host) || !UsableAsHostLabel(bucket);
  } else {
    auto parsed = ParseBool(path_style);
    if (!parsed.ok()) return Properties::Invalid(kPathStyleKey, path_style, "auto, true or false");
    o.path_style = *parsed;
  }

  // Checked here, so a wrong path fails the mount rather than every request with a TLS error.
  o.ca_bundle = props.Get(kCaBundleKey, {"AWS_CA_BUNDLE"});
  if (o.endpoint.scheme == "https" && !o.ca_bundle.empty() &&
      ::access(o.ca_bundle.c_str(), R_OK) != 0) {
    return Properties::Invalid(kCaBundleKey, o.ca_bundle, "a readable PEM file");
  }

  ALLUVIUM_RETURN_IF_ERROR(props.Duration(kRequestTimeoutKey, o.request_timeout));
  ALLUVIUM_RETURN_IF_ERROR(props.Duration(kConnectTimeoutKey, o.connect_timeout));
  ALLUVIUM_RETURN_IF_ERROR(props.Duration(kRetryBaseDelayKey, o.retry_base_delay));
  ALLUVIUM_RETURN_IF_ERROR(props.Duration(kRetryMaxDelayKey, o.retry_max_delay));
  ALLUVIUM_RETURN_IF_ERROR(props.Int(kMaxAttemptsKey, 1, 100, o.max_attempts));
  ALLUVIUM_RETURN_IF_ERROR(props.Int(kListPageSizeKey, 1, 1000, o.list_page_size));
  if (const std::string block = props.Get(kReadBlockSizeKey); !block.empty()) {
    auto parsed = ParseSize(block);
    if (!parsed.ok() || *parsed < 4096 || *parsed > (1ull << 30)) {
      return Properties::Invalid(kReadBlockSizeKey, block, "a size from 4KB to 1GB");
    }
    o.read_block_size = *parsed;
  }
  if (const std::string ahead = props.Get(kReadAheadKey); !ahead.empty()) {
    auto parsed = ParseBool(ahead);
    if (!parsed.ok()) return Properties::Invalid(kReadAheadKey, ahead, "true or false");
    o.read_ahead = *parsed;
  }
  if (o.request_timeout.count() <= 0 || o.connect_timeout.count() <= 0) {
    return InvalidArgument("S3 request and connect timeouts must be positive");
  }
  return o;
}

}  // namespace alluvium::ufs::s3
