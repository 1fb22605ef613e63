// A small client for the coordinator's REST API, used by `alluvium job …`. Speaks as the
// cluster's alluvium.security.* settings say: HTTPS when TLS is on (the coordinator's
// certificate checked against the CA bundle, or the system's without one, and its host name or
// IP; this process's own certificate under mutual TLS), and the cluster token as
// "Authorization: Bearer <token>". Safe for concurrent use: every request has its own connection.
#pragma once

#include <chrono>
#include <string>

#include "common/config.h"
#include "common/security.h"
#include "common/status.h"

namespace alluvium::cli {

struct RestReply {
  int status = 0;
  std::string body;
};

class RestClient {
 public:
  // Connects within 5 s; waits alluvium.user.rpc.timeout for each answer.
  explicit RestClient(const Config& config);
  // kUnavailable when the coordinator cannot be reached, fails the TLS handshake or gives no
  // HTTP answer in time; kFailedPrecondition when its certificate is not trusted;
  // kInvalidArgument, naming the key, when the alluvium.security.* settings cannot be loaded
  // (checked here rather than in the constructor, so each caller reports it like any failed
  // request). Any HTTP status is a reply: a 401 says the token is missing or wrong.
  Result<RestReply> Post(const std::string& path, const std::string& json_body) const;
  Result<RestReply> Get(const std::string& path) const;
  // Any method, with a JSON body if not empty (progress_job takes one on GET).
  Result<RestReply> Send(const std::string& method, const std::string& path,
                         const std::string& json_body) const;
  const std::string& base() const { return base_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  std::string host_;
  int port_ = 0;
  std::chrono::milliseconds timeout_;
  Result<SecuritySettings> security_;
  std::string base_;
};

}  // namespace alluvium::cli
