// Shared by the S3 tests: one s3rver per test binary, and options pointing an S3 file system
// at it (or at a proxy in front of it).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "testing/s3_test_server.h"
#include "ufs/s3/s3_file_system.h"
#include "ufs/s3/s3_options.h"

namespace alluvium::testing {

// s3rver knows one account: access key "S3RVER" (it checks the key, not V4 signatures).
inline std::map<std::string, std::string> S3Properties(const std::string& endpoint) {
  return {{ufs::s3::kEndpointKey, endpoint},
          {ufs::s3::kAccessKeyKey, "S3RVER"},
          {ufs::s3::kSecretKeyKey, "S3RVER"},
          {ufs::s3::kRetryBaseDelayKey, "1ms"},
          {ufs::s3::kRetryMaxDelayKey, "20ms"}};
}

// Exactly `size` pseudo-random bytes.
inline std::string RandomBytes(size_t size, uint32_t seed) {
  std::string bytes = S3TestServer::SeededData(0, size, seed);
  bytes.resize(size);
  for (size_t i = 0; i < size; ++i) bytes[i] ^= static_cast<char>((i * 2654435761u) >> 13);
  return bytes;
}

inline std::unique_ptr<ufs::s3::S3FileSystem> OpenS3(
    const std::string& bucket, std::map<std::string, std::string> properties) {
  auto options = ufs::s3::S3Options::From(properties, bucket);
  EXPECT_TRUE(options.ok()) << options.status();
  return std::make_unique<ufs::s3::S3FileSystem>(bucket, *options);
}

}  // namespace alluvium::testing
