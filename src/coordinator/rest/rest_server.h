// The coordinator's REST API (Alluxio-compatible paths under /api/v1/master/). Routes are added
// by the components that own them before Start(). Errors are always JSON:
// {"error": "NOT_FOUND", "message": "..."} with the HTTP status of the code. Owns the listener
// thread: started by Start(), joined by Stop().
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace alluvium::coordinator {

class RestServer {
 public:
  RestServer();
  ~RestServer();

  // A handler returns the JSON body to send with 200, or a Status mapped to an error response.
  using JsonHandler = std::function<Result<std::string>(const httplib::Request&)>;
  void Get(const std::string& path, JsonHandler handler);
  void Post(const std::string& path, JsonHandler handler);
  // Plain-text GET (e.g. /metrics).
  void GetText(const std::string& path, std::function<std::string()> handler);

  // Binds host:port (0 = any free port) and serves on a thread of its own.
  Result<int> Start(const std::string& host, int port);
  void Stop();  // idempotent

  // The error body for a Status: {"error": "<CODE>", "message": "..."}.
  static std::string ErrorJson(const Status& status);

 private:
  void Reply(const JsonHandler& handler, const httplib::Request& req, httplib::Response& res);

  std::unique_ptr<httplib::Server> server_;
  std::jthread thread_;
};

}  // namespace alluvium::coordinator
