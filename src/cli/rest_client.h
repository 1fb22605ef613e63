// A small client for the coordinator's REST API, used by `alluvium job …`.
#pragma once

#include <chrono>
#include <string>

#include "common/config.h"
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
  // kUnavailable when the coordinator cannot be reached or gives no HTTP answer in time; any
  // HTTP status is a reply.
  Result<RestReply> Post(const std::string& path, const std::string& json_body) const;
  Result<RestReply> Get(const std::string& path) const;
  const std::string& base() const { return base_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  std::string host_;
  int port_ = 0;
  std::chrono::milliseconds timeout_;
  std::string base_;
};

}  // namespace alluvium::cli
