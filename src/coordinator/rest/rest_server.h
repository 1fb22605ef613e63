// The coordinator's HTTP/1.1 server for the REST API (Alluxio-compatible paths under
// /api/v1/master/). Built on Boost.Beast's parser because the API takes JSON bodies on GET
// (progress_job), which cpp-httplib drops. Routes are added before Start(). Errors are always
// JSON: {"error": "NOT_FOUND", "message": "..."} with the HTTP status of the code, also for
// requests that never reach a route (400 malformed, 408 too slow, 413 body too large, 414/431
// request line or headers too large).
//
// Limits, so that no client can hold the server: 16 KiB of request line and headers, 1 MiB of
// body (a body of up to 8 MiB over that is read and dropped so the connection stays usable),
// 10 s to receive a whole request and 10 s to take an answer, a bounded number of concurrent
// connections (more get 503). Owns its threads: the acceptor and one per connection, all joined
// by Stop().
//
// Security (common/security.h), fixed at construction: with TLS every connection is TLS
// (tls_transport.h; one that does not complete the handshake within the 10 s is closed, and a
// plain-HTTP request to the port gets no answer). With a cluster token every request, /metrics
// and unknown paths included, must carry "Authorization: Bearer <token>"; without it or with a
// wrong one the answer is 401 UNAUTHENTICATED with "WWW-Authenticate: Bearer", no handler runs,
// its body is not read, and the connection closes.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/security.h"
#include "common/status.h"

namespace alluvium::coordinator {

struct HttpRequest {
  std::string method;                        // "GET", "POST", ...
  std::string path;                          // without the query string
  std::map<std::string, std::string> query;  // decoded query parameters
  std::string body;
  std::optional<std::string> bearer_token;  // of "Authorization: Bearer <token>"; none without
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string allow;             // for 405: the methods the path accepts, e.g. "GET, POST"
  std::string www_authenticate;  // for 401: the scheme the server takes, "Bearer"
};

class RestServer {
 public:
  using Handler = std::function<Result<HttpResponse>(const HttpRequest&)>;

  explicit RestServer(SecuritySettings security = {});
  ~RestServer();

  // Exact path match; a known path with another method answers 405 with an Allow header.
  void Route(const std::string& method, const std::string& path, Handler handler);
  // Shorthands for handlers that answer a JSON body with 200.
  void Get(const std::string& path, std::function<Result<std::string>(const HttpRequest&)> h);
  void Post(const std::string& path, std::function<Result<std::string>(const HttpRequest&)> h);

  // Binds host:port (0 = any free port) and serves. Returns the bound port. With TLS,
  // kInvalidArgument when the certificate, key or CA is not usable.
  Result<int> Start(const std::string& host, int port);
  void Stop();  // idempotent: stops accepting, closes connections, joins every thread

  // {"error": "<CODE>", "message": "..."}.
  static std::string ErrorJson(const Status& status);
  // Routes a request as the server would, the token checked first (for tests and fuzzing,
  // without sockets).
  HttpResponse Dispatch(const HttpRequest& request) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Splits "a=1&b=x%20y" into decoded pairs; malformed escapes are kept literally.
std::map<std::string, std::string> ParseQuery(std::string_view query);

}  // namespace alluvium::coordinator
