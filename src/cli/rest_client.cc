#include "cli/rest_client.h"

#include <httplib.h>

namespace alluvium::cli {
namespace {

Result<RestReply> Reply(const httplib::Result& res, const std::string& base,
                        std::chrono::milliseconds timeout) {
  if (res) return RestReply{res->status, res->body};
  switch (res.error()) {
    case httplib::Error::Connection:
    case httplib::Error::ConnectionTimeout:
      return Unavailable(
          fmt::format("cannot reach the coordinator at {}; is it running? "
                      "`alluvium cluster start` starts a local one",
                      base));
    case httplib::Error::Read:
      return Unavailable(fmt::format(
          "no HTTP answer from the coordinator at {} within {} ms (alluvium.user.rpc.timeout); "
          "is it running, and is that its REST port?",
          base, timeout.count()));
    default:
      return Unavailable(fmt::format("request to the coordinator at {} failed ({})", base,
                                     httplib::to_string(res.error())));
  }
}

httplib::Client NewClient(const std::string& host, int port, std::chrono::milliseconds timeout) {
  httplib::Client client(host, port);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  return client;
}

}  // namespace

RestClient::RestClient(const Config& config)
    : host_(config.GetString(keys::kCoordinatorHostname)),
      port_(static_cast<int>(config.GetInt(keys::kCoordinatorWebPort))),
      timeout_(config.GetDuration(keys::kUserRpcTimeout)),
      base_(fmt::format("http://{}:{}", host_, port_)) {}

Result<RestReply> RestClient::Post(const std::string& path, const std::string& json_body) const {
  httplib::Client client = NewClient(host_, port_, timeout_);
  return Reply(client.Post(path.c_str(), json_body, "application/json"), base_, timeout_);
}

Result<RestReply> RestClient::Get(const std::string& path) const {
  httplib::Client client = NewClient(host_, port_, timeout_);
  return Reply(client.Get(path.c_str()), base_, timeout_);
}

}  // namespace alluvium::cli
