#include "testing/s3_test_server.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <regex>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <openssl/evp.h>

#include "cli/process.h"
#include "common/file_util.h"
#include "common/scoped_fd.h"
#include "common/status_mapping.h"
#include "testing/self_signed_cert.h"

namespace alluvium::testing {

namespace fs = std::filesystem;
using std::chrono::steady_clock;

namespace {

// Node 17+ (OpenSSL 3) lacks the DES cipher s3rver encrypts ListObjectsV2 continuation tokens
// with: without the legacy provider every second page is a 500.
constexpr char kNodeOptions[] = "--openssl-legacy-provider";

// RFC 3986 unreserved characters stay, so does '/': the key's path segments.
std::string EncodeKey(std::string_view key) {
  std::string out;
  for (const unsigned char c : key) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

Status FromS3Reply(int http, const std::string& body, std::string_view context) {
  std::string code;
  const size_t begin = body.find("<Code>");
  const size_t end = body.find("</Code>");
  if (begin != std::string::npos && end != std::string::npos && end > begin) {
    code = body.substr(begin + 6, end - begin - 6);
  }
  const std::string message = fmt::format("{}: HTTP {} {}", context, http, code);
  switch (http) {
    case 404:
      return NotFound(message);
    case 409:
      return AlreadyExists(message);
    case 400:
      return InvalidArgument(message);
    case 429:
    case 503:
      return Unavailable(message);
    default:
      return InternalError(message);
  }
}

Status WriteFile(const fs::path& path, std::string_view data) {
  ScopedFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return FromErrno(errno, "open " + path.string());
  for (size_t done = 0; done < data.size();) {
    const ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FromErrno(errno, "write " + path.string());
    done += static_cast<size_t>(n);
  }
  if (const int err = fd.Close(); err != 0) return FromErrno(err, "close " + path.string());
  return OkStatus();
}

std::string Md5Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

}  // namespace

S3TestServer::S3TestServer(const std::filesystem::path& base_dir) : dir_(base_dir) {}

Result<std::unique_ptr<S3TestServer>> S3TestServer::Start(std::vector<std::string> buckets,
                                                          const std::filesystem::path& base_dir) {
  return Launch(std::move(buckets), base_dir, /*tls=*/false);
}

Result<std::unique_ptr<S3TestServer>> S3TestServer::StartTls(std::vector<std::string> buckets) {
  return Launch(std::move(buckets), {}, /*tls=*/true);
}

Result<std::unique_ptr<S3TestServer>> S3TestServer::Launch(std::vector<std::string> buckets,
                                                           const std::filesystem::path& base_dir,
                                                           bool tls) {
  const char* env = std::getenv("ALLUVIUM_S3RVER");
  const std::string binary = env != nullptr && *env != '\0' ? env : ALLUVIUM_S3RVER_DEFAULT;
  if (::access(binary.c_str(), X_OK) != 0) {
    return FailedPrecondition(
        fmt::format("no s3rver at {}: run scripts/s3rver.sh install", binary));
  }
  std::unique_ptr<S3TestServer> server(new S3TestServer(base_dir));
  server->data_dir_ = server->dir_.path() / "data";
  server->log_path_ = server->dir_.path() / "s3rver.log";

  const char* node_options = std::getenv("NODE_OPTIONS");
  std::vector<std::string> argv = {
      "/usr/bin/env",
      fmt::format("NODE_OPTIONS={} {}", node_options ? node_options : "", kNodeOptions), binary,
      "-d", server->data_dir_.string(), "-a", "127.0.0.1",
      // Port 0: the kernel picks a free port and s3rver prints it, so no bind races to retry.
      "-p", "0"};
  for (const std::string& bucket : buckets) {
    argv.insert(argv.end(), {"--configure-bucket", bucket});
  }
  if (tls) {
    const fs::path key = server->dir_.path() / "tls.key";
    server->ca_path_ = server->dir_.path() / "tls.crt";
    ALLUVIUM_RETURN_IF_ERROR(WriteSelfSignedCertificate(key, server->ca_path_));
    argv.insert(argv.end(), {"--key", key.string(), "--cert", server->ca_path_.string()});
  }
  ALLUVIUM_ASSIGN_OR_RETURN(server->pid_,
                            cli::SpawnDaemon(argv, server->log_path_, /*die_with_parent=*/true));
  ALLUVIUM_RETURN_IF_ERROR(server->WaitUntilServing());
  return server;
}

Status S3TestServer::WaitUntilServing() {
  static const std::regex kListening(R"(S3rver listening on 127\.0\.0\.1:(\d+))");
  const auto until = steady_clock::now() + std::chrono::seconds(30);
  while (steady_clock::now() < until) {
    if (port_ == 0) {
      auto log = ReadWholeFile(log_path_);
      std::smatch match;
      if (log.ok() && std::regex_search(*log, match, kListening)) {
        port_ = std::stoi(match[1]);
        client_ = std::make_unique<httplib::Client>(endpoint());
        if (!ca_path_.empty()) client_->set_ca_cert_path(ca_path_.c_str());
        client_->set_keep_alive(true);
        // Without it every PUT waits ~40 ms for a delayed ACK between header and body.
        client_->set_tcp_nodelay(true);
        client_->set_url_encode(false);  // EncodeKey did it
        client_->set_connection_timeout(std::chrono::seconds(5));
        client_->set_read_timeout(std::chrono::seconds(60));
      }
    }
    if (port_ != 0 && Request("GET", "/", "", 200).ok()) return OkStatus();
    if (!cli::IsAlive(pid_)) {
      return Unavailable("s3rver exited during startup; log tail:\n" + LogTail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return DeadlineExceeded("s3rver did not start serving in 30 s; log tail:\n" + LogTail());
}

S3TestServer::~S3TestServer() {
  client_.reset();
  if (pid_ > 0) (void)cli::Terminate(pid_, std::chrono::seconds(5));
}

std::string S3TestServer::endpoint() const {
  return fmt::format("{}://127.0.0.1:{}", ca_path_.empty() ? "http" : "https", port_);
}

std::string S3TestServer::LogTail() const {
  auto log = ReadWholeFile(log_path_);
  if (!log.ok()) return "(no log: " + log.status().ToString() + ")";
  constexpr size_t kTail = 4000;
  return log->size() > kTail ? "..." + log->substr(log->size() - kTail) : *log;
}

Status S3TestServer::Request(const std::string& method, const std::string& path,
                             std::string_view body, int expected_status) {
  httplib::Request request;
  request.method = method;
  request.path = path;
  request.body = std::string(body);
  if (method == "PUT") request.set_header("Content-Type", "application/octet-stream");
  std::lock_guard lock(mu_);
  // s3rver closes connections idle for 5 s; one retry covers a request on such a connection
  // (every request here is idempotent).
  for (int attempt = 0;; ++attempt) {
    httplib::Result result = client_->send(request);
    if (result) {
      if (result->status == expected_status) return OkStatus();
      return FromS3Reply(result->status, result->body, method + " " + path);
    }
    if (attempt == 1) {
      return Unavailable(fmt::format("{} {}: {}; s3rver log tail:\n{}", method, path,
                                     httplib::to_string(result.error()), LogTail()));
    }
  }
}

Status S3TestServer::CreateBucket(const std::string& bucket) {
  return Request("PUT", "/" + EncodeKey(bucket), "", 200);
}

Status S3TestServer::PutObject(const std::string& bucket, const std::string& key,
                               std::string_view data) {
  return Request("PUT", "/" + EncodeKey(bucket) + "/" + EncodeKey(key), data, 200);
}

Status S3TestServer::DeleteObject(const std::string& bucket, const std::string& key) {
  return Request("DELETE", "/" + EncodeKey(bucket) + "/" + EncodeKey(key), "", 204);
}

std::string S3TestServer::SeededKey(const std::string& prefix, int index) {
  return fmt::format("{}obj-{:07d}", prefix, index);
}

std::string S3TestServer::SeededData(int index, size_t max_size, uint32_t seed) {
  std::seed_seq seq{seed, static_cast<uint32_t>(index)};
  std::mt19937_64 random(seq);
  std::string bytes(random() % (max_size + 1), '\0');
  for (size_t i = 0; i < bytes.size(); i += 8) {
    const uint64_t v = random();
    std::memcpy(bytes.data() + i, &v, std::min<size_t>(8, bytes.size() - i));
  }
  return bytes;
}

// PUTs top out at ~1,000 objects/s (s3rver is one Node thread; 2-4 connections in parallel gain
// little), so 100k objects would take minutes. s3rver keeps no state besides its files and reads
// them on every request, so writing its layout directly is equivalent: key "a/b" is
// DATA/bucket/a/b._S3rver_object plus ._S3rver_object.md5 (the hex MD5 it serves as the ETag);
// without ._S3rver_metadata.json the Content-Type is binary/octet-stream
// (lib/stores/filesystem.js).
Status S3TestServer::SeedObjects(const std::string& bucket, const std::string& prefix, int count,
                                 size_t max_size, uint32_t seed) {
  // s3rver joins key segments as paths: "", "." and ".." segments would land elsewhere.
  for (size_t begin = 0; begin <= prefix.size();) {
    const size_t end = std::min(prefix.find('/', begin), prefix.size());
    const std::string_view segment = std::string_view(prefix).substr(begin, end - begin);
    const bool last = end == prefix.size();
    if ((!last && segment.empty()) || segment == "." || segment == "..") {
      return InvalidArgument("SeedObjects cannot place prefix " + prefix);
    }
    begin = end + 1;
  }
  const fs::path bucket_dir = data_dir_ / bucket;
  std::error_code ec;
  if (bucket.empty() || !fs::is_directory(bucket_dir, ec)) {
    return NotFound("SeedObjects: no bucket " + bucket);
  }
  for (int i = 0; i < count; ++i) {
    const fs::path object = bucket_dir / (SeededKey(prefix, i) + "._S3rver_object");
    if (i == 0) {
      fs::create_directories(object.parent_path(), ec);
      if (ec) return FromErrno(ec.value(), "mkdir " + object.parent_path().string());
    }
    const std::string data = SeededData(i, max_size, seed);
    ALLUVIUM_RETURN_IF_ERROR(WriteFile(object, data));
    ALLUVIUM_RETURN_IF_ERROR(WriteFile(object.string() + ".md5", Md5Hex(data)));
  }
  return OkStatus();
}

}  // namespace alluvium::testing
