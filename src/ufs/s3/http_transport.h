// Blocking HTTP/1.1 requests over libcurl, with kept-alive connections: every request borrows an
// idle curl handle (and so its open connection) from a pool and gives it back afterwards, so a
// burst of small GETs pays one TCP (and TLS) handshake per concurrent request, not per request.
// Safe for concurrent use.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"

namespace alluvium::ufs::s3 {

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD or DELETE: S3 reads need no request body
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lowercased; the last value wins
  std::string body;                            // the body, unless a body sink took it

  const std::string* Header(const std::string& lowercase_name) const {
    auto it = headers.find(lowercase_name);
    return it == headers.end() ? nullptr : &it->second;
  }
};

struct TransportOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{60'000};  // the whole exchange, body included
  std::string ca_bundle;  // PEM file of trusted CAs for https; empty: the system's
};

class HttpTransport {
 public:
  explicit HttpTransport(TransportOptions options);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Called with each piece of a 2xx body, to place it where the caller wants it (no copy
  // through HttpResponse::body), with the response's status and headers so far (to check them
  // before using the bytes). Returning false aborts the transfer.
  using BodySink = std::function<bool(const HttpResponse& head, std::span<const std::byte>)>;

  // Any HTTP status is a successful exchange. Failures before a complete response:
  // kDeadlineExceeded (connect or request timeout), kUnavailable (refused, reset, truncated),
  // kInvalidArgument (malformed URL), kCancelled (the sink refused).
  Result<HttpResponse> Send(const HttpRequest& request, const BodySink& sink = nullptr);

 private:
  struct Handle;
  std::unique_ptr<Handle> Borrow();
  void Return(std::unique_ptr<Handle> handle);

  const TransportOptions options_;
  Mutex mu_;
  std::vector<std::unique_ptr<Handle>> idle_ GUARDED_BY(mu_);
};

}  // namespace alluvium::ufs::s3
