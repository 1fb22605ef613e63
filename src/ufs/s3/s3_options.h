// Settings of one S3 file system (one bucket): where the service is, who we are, and how hard to
// retry. Built from UFS properties (cluster configuration overlaid with the mount's options), with
// the standard AWS environment variables as the fallback for region and credentials.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "common/config_keys.h"
#include "common/status.h"
#include "ufs/s3/sigv4.h"

namespace alluvium::ufs::s3 {

// Property names: the configuration's keys (config_keys.cc spells them; a mount may set any).
inline const std::string kEndpointKey{keys::kUnderfsS3Endpoint.name};
inline const std::string kRegionKey{keys::kUnderfsS3Region.name};
inline const std::string kAccessKeyKey{keys::kUnderfsS3AccessKey.name};
inline const std::string kSecretKeyKey{keys::kUnderfsS3SecretKey.name};
inline const std::string kSessionTokenKey{keys::kUnderfsS3SessionToken.name};
inline const std::string kPathStyleKey{keys::kUnderfsS3PathStyle.name};
inline const std::string kCaBundleKey{keys::kUnderfsS3CaBundle.name};
inline const std::string kRequestTimeoutKey{keys::kUnderfsS3RequestTimeout.name};
inline const std::string kConnectTimeoutKey{keys::kUnderfsS3ConnectTimeout.name};
inline const std::string kMaxAttemptsKey{keys::kUnderfsS3MaxAttempts.name};
inline const std::string kRetryBaseDelayKey{keys::kUnderfsS3RetryBaseDelay.name};
inline const std::string kRetryMaxDelayKey{keys::kUnderfsS3RetryMaxDelay.name};
inline const std::string kListPageSizeKey{keys::kUnderfsS3ListPageSize.name};
inline const std::string kReadBlockSizeKey{keys::kUnderfsS3ReadBlockSize.name};
inline const std::string kReadAheadKey{keys::kUnderfsS3ReadAhead.name};

struct Endpoint {
  std::string scheme;  // "http" or "https"
  std::string host;    // name or address, no port
  int port = 0;        // 0: the scheme's default
  // Host header value: host, plus ":port" when not the scheme's default.
  std::string HostHeader() const;
  static Result<Endpoint> Parse(std::string_view url);
};

struct S3Options {
  Endpoint endpoint;
  std::string region;
  Credentials credentials;  // empty access key: anonymous (unsigned) requests
  // Path-style "endpoint/bucket/key" rather than virtual-hosted "bucket.endpoint/key".
  bool path_style = false;
  std::string ca_bundle;  // PEM file of trusted CAs for https; empty: the system's
  std::chrono::milliseconds request_timeout{60'000};
  std::chrono::milliseconds connect_timeout{10'000};
  int max_attempts = 6;
  std::chrono::milliseconds retry_base_delay{100};
  std::chrono::milliseconds retry_max_delay{5'000};
  int list_page_size = 1000;  // max-keys of one ListObjectsV2 page (S3 caps it at 1000)
  // A sequential reader fetches this much per GET, so a 1 MiB page read is not one request.
  uint64_t read_block_size = 8 << 20;
  // ... or, with read-ahead, streams the whole range in one GET (see S3ObjectStream).
  bool read_ahead = true;

  // kInvalidArgument naming the property for a malformed value. `bucket` decides automatic path
  // style: names with dots or upper case cannot be host names.
  static Result<S3Options> From(const std::map<std::string, std::string>& properties,
                                std::string_view bucket);
};

}  // namespace alluvium::ufs::s3
