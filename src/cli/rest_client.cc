#include "cli/rest_client.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace alluvium::cli {
namespace {

Result<RestReply> Reply(const httplib::Result& res, const std::string& base) {
  if (!res) {
    return Unavailable(fmt::format("cannot reach the coordinator at {} ({}); is it running? "
                                   "`alluvium cluster start` starts a local one",
                                   base, httplib::to_string(res.error())));
  }
  return RestReply{res->status, res->body};
}

}  // namespace

RestClient::RestClient(const Config& config)
    : host_(config.GetString(keys::kCoordinatorHostname)),
      port_(static_cast<int>(config.GetInt(keys::kCoordinatorWebPort))),
      base_(fmt::format("http://{}:{}", host_, port_)) {}

Result<RestReply> RestClient::Post(const std::string& path, const std::string& json_body) const {
  httplib::Client client(host_, port_);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(60, 0);
  return Reply(client.Post(path.c_str(), json_body, "application/json"), base_);
}

Result<RestReply> RestClient::Get(const std::string& path) const {
  httplib::Client client(host_, port_);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(60, 0);
  return Reply(client.Get(path.c_str()), base_);
}

std::string ErrorMessageOf(const RestReply& reply) {
  auto j = nlohmann::json::parse(reply.body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    return j["message"].get<std::string>();
  }
  return fmt::format("HTTP {}: {}", reply.status, reply.body);
}

}  // namespace alluvium::cli
