// Settings of one S3 file system (one bucket): where the service is, who we are, and how hard to
// retry. Built from UFS properties (cluster configuration overlaid with the mount's options), with
// the standard AWS environment variables as the fallback for region and credentials.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "common/status.h"
#include "ufs/s3/sigv4.h"

namespace alluvium::ufs::s3 {

// Property names, as the configuration spells them (a mount may set any of them too).
inline constexpr char kEndpointKey[] = "alluvium.underfs.s3.endpoint";
inline constexpr char kRegionKey[] = "alluvium.underfs.s3.region";
inline constexpr char kAccessKeyKey[] = "alluvium.underfs.s3.access.key";
inline constexpr char kSecretKeyKey[] = "alluvium.underfs.s3.secret.key";
inline constexpr char kSessionTokenKey[] = "alluvium.underfs.s3.session.token";
inline constexpr char kPathStyleKey[] = "alluvium.underfs.s3.path.style";
inline constexpr char kRequestTimeoutKey[] = "alluvium.underfs.s3.request.timeout";
inline constexpr char kConnectTimeoutKey[] = "alluvium.underfs.s3.connect.timeout";
inline constexpr char kMaxAttemptsKey[] = "alluvium.underfs.s3.retry.max.attempts";
inline constexpr char kRetryBaseDelayKey[] = "alluvium.underfs.s3.retry.base.delay";
inline constexpr char kRetryMaxDelayKey[] = "alluvium.underfs.s3.retry.max.delay";
inline constexpr char kListPageSizeKey[] = "alluvium.underfs.s3.list.page.size";
inline constexpr char kReadBlockSizeKey[] = "alluvium.underfs.s3.read.block.size";

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
  std::chrono::milliseconds request_timeout{60'000};
  std::chrono::milliseconds connect_timeout{10'000};
  int max_attempts = 6;
  std::chrono::milliseconds retry_base_delay{100};
  std::chrono::milliseconds retry_max_delay{5'000};
  int list_page_size = 1000;  // max-keys of one ListObjectsV2 page (S3 caps it at 1000)
  // A sequential reader fetches this much per GET, so a 1 MiB page read is not one request.
  uint64_t read_block_size = 8 << 20;

  // kInvalidArgument naming the property for a malformed value. `bucket` decides automatic path
  // style: names with dots or upper case cannot be host names.
  static Result<S3Options> From(const std::map<std::string, std::string>& properties,
                                std::string_view bucket);
};

}  // namespace alluvium::ufs::s3
