// A real S3-compatible server for tests: s3rver 3.7.1 (scripts/s3rver.sh install) on 127.0.0.1
// with a fresh data dir, stopped by PID when the object goes away. It does not check signatures:
// requests may carry any SigV4 Authorization for access key "S3RVER" (plus x-amz-date and
// x-amz-content-sha256) or none at all.
//
// Stock s3rver 3.7.1 lists keys out of S3's byte order and drops or repeats common prefixes;
// scripts/s3rver.sh applies scripts/s3rver-listing.patch, which fixes that (docs/s3.md).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "testing/scoped_temp_dir.h"

namespace httplib {
class Client;
}

namespace alluvium::testing {

class S3TestServer {
 public:
  // Starts s3rver with `buckets` created and waits until it answers HTTP. The binary is
  // $ALLUVIUM_S3RVER, else .tools/s3rver in the source tree. Call from the test's main thread:
  // the server is killed when the thread that started it exits.
  // `base_dir`: where its data lives (default $TMPDIR); /dev/shm makes 100k-object tests cheap.
  static Result<std::unique_ptr<S3TestServer>> Start(std::vector<std::string> buckets,
                                                     const std::filesystem::path& base_dir = {});
  // The same over https, with a self-signed certificate for 127.0.0.1 made for this server:
  // clients trust it by taking ca_path() as their CA bundle.
  static Result<std::unique_ptr<S3TestServer>> StartTls(std::vector<std::string> buckets);
  ~S3TestServer();
  S3TestServer(const S3TestServer&) = delete;
  S3TestServer& operator=(const S3TestServer&) = delete;

  int port() const { return port_; }
  std::string endpoint() const;  // "http://127.0.0.1:PORT" ("https://" with TLS)
  const std::filesystem::path& ca_path() const { return ca_path_; }  // empty without TLS
  const std::filesystem::path& log_path() const { return log_path_; }

  // Path-style requests without credentials over one kept-alive connection (thread-safe).
  // Bucket names need 3..63 characters. Keys may hold '/', spaces and UTF-8.
  Status CreateBucket(const std::string& bucket);
  Status PutObject(const std::string& bucket, const std::string& key, std::string_view data);
  Status DeleteObject(const std::string& bucket, const std::string& key);

  // Creates objects prefix + "obj-0000000" ... prefix + "obj-{count-1}" in an existing bucket,
  // object i holding SeededData(i, max_size, seed): 0..max_size pseudo-random bytes. Writes
  // s3rver's files directly, 10-50x faster than PUTs (see s3_test_server.cc). Listing cost grows
  // with the square of the keys in one "directory" (each page re-reads it): 10k keys list in
  // ~2 s, 100k in 1-2 min, 100 prefixes of 1000 keys in ~20 s. For 100k objects run the test with
  // TMPDIR=/dev/shm: on this VM's disk, creating and deleting their 200k files can take minutes.
  Status SeedObjects(const std::string& bucket, const std::string& prefix, int count,
                     size_t max_size, uint32_t seed);
  static std::string SeededKey(const std::string& prefix, int index);
  static std::string SeededData(int index, size_t max_size, uint32_t seed);

 private:
  explicit S3TestServer(const std::filesystem::path& base_dir);
  static Result<std::unique_ptr<S3TestServer>> Launch(std::vector<std::string> buckets,
                                                      const std::filesystem::path& base_dir,
                                                      bool tls);
  Status WaitUntilServing();
  Status Request(const std::string& method, const std::string& path, std::string_view body,
                 int expected_status);
  std::string LogTail() const;

  ScopedTempDir dir_;  // declared first: removed after the server is stopped
  std::filesystem::path data_dir_;
  std::filesystem::path log_path_;
  std::filesystem::path ca_path_;  // the server's own certificate, with TLS
  pid_t pid_ = -1;
  int port_ = 0;
  std::mutex mu_;  // guards client_
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace alluvium::testing
