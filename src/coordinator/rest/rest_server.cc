#include "coordinator/rest/rest_server.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/logging.h"
#include "common/status_mapping.h"

namespace alluvium::coordinator {
namespace {

constexpr size_t kMaxBodyBytes = 1 << 20;  // job requests are small; refuse anything bigger

}  // namespace

RestServer::RestServer() : server_(std::make_unique<httplib::Server>()) {
  server_->set_payload_max_length(kMaxBodyBytes);
  server_->set_read_timeout(10, 0);
  server_->set_write_timeout(10, 0);
  server_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    Status st = res.status == 404 ? NotFound(fmt::format("no endpoint {} {}", req.method, req.path))
                : res.status == 413 ? ResourceExhausted("request body too large")
                                    : InvalidArgument(fmt::format("HTTP {}", res.status));
    res.set_content(ErrorJson(st), "application/json");
  });
  server_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content(ErrorJson(InternalError("unexpected error")), "application/json");
      });
}

RestServer::~RestServer() { Stop(); }

std::string RestServer::ErrorJson(const Status& status) {
  return nlohmann::json{{"error", CodeName(status.code())}, {"message", status.message()}}.dump();
}

void RestServer::Reply(const JsonHandler& handler, const httplib::Request& req,
                       httplib::Response& res) {
  Result<std::string> body = handler(req);
  if (body.ok()) {
    res.status = 200;
    res.set_content(*body, "application/json");
    return;
  }
  ALLUVIUM_LOG(DEBUG, "REST {} {} -> {}", req.method, req.path, body.status());
  res.status = HttpStatusOf(body.status().code());
  res.set_content(ErrorJson(body.status()), "application/json");
}

void RestServer::Get(const std::string& path, JsonHandler handler) {
  server_->Get(
      path, [this, handler = std::move(handler)](
                const httplib::Request& req, httplib::Response& res) { Reply(handler, req, res); });
}

void RestServer::Post(const std::string& path, JsonHandler handler) {
  server_->Post(
      path, [this, handler = std::move(handler)](
                const httplib::Request& req, httplib::Response& res) { Reply(handler, req, res); });
}

void RestServer::GetText(const std::string& path, std::function<std::string()> handler) {
  server_->Get(path,
               [handler = std::move(handler)](const httplib::Request&, httplib::Response& res) {
                 res.set_content(handler(), "text/plain; version=0.0.4");
               });
}

Result<int> RestServer::Start(const std::string& host, int port) {
  int bound = port;
  if (port == 0) {
    bound = server_->bind_to_any_port(host);
  } else if (!server_->bind_to_port(host, port)) {
    bound = -1;
  }
  if (bound <= 0) return Unavailable(fmt::format("cannot listen on {}:{} (in use?)", host, port));
  thread_ = std::jthread([this] { server_->listen_after_bind(); });
  return bound;
}

void RestServer::Stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace alluvium::coordinator
