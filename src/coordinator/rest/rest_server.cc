#include "coordinator/rest/rest_server.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <list>
#include <mutex>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "common/logging.h"
#include "common/status_mapping.h"

namespace alluvium::coordinator {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr size_t kMaxBodyBytes = 1 << 20;  // job requests are small; refuse anything bigger
constexpr size_t kMaxConnections = 256;
constexpr int kReceiveTimeoutSeconds = 10;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 &&
               HexValue(in[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

HttpResponse ErrorResponse(const Status& status) {
  return {HttpStatusOf(status.code()), "application/json", RestServer::ErrorJson(status)};
}

}  // namespace

std::map<std::string, std::string> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    out[PercentDecode(pair.substr(0, eq))] =
        eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1));
  }
  return out;
}

struct RestServer::Impl {
  struct Connection {
    tcp::socket socket;
    std::jthread thread;
    std::atomic<bool> done{false};
    explicit Connection(tcp::socket s) : socket(std::move(s)) {}
  };

  std::map<std::string, std::map<std::string, Handler>> routes;  // path -> method -> handler
  net::io_context io{1};
  tcp::acceptor acceptor{io};
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::list<Connection> connections;  // guarded by mu
  std::jthread accept_thread;

  void AcceptLoop(const RestServer& server);
  void Serve(const RestServer& server, Connection& connection);
  void ReapFinishedLocked();
};

RestServer::RestServer() : impl_(std::make_unique<Impl>()) {}

RestServer::~RestServer() { Stop(); }

std::string RestServer::ErrorJson(const Status& status) {
  return nlohmann::json{{"error", CodeName(status.code())}, {"message", status.message()}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void RestServer::Route(const std::string& method, const std::string& path, Handler handler) {
  impl_->routes[path][method] = std::move(handler);
}

void RestServer::Get(const std::string& path,
                     std::function<Result<std::string>(const HttpRequest&)> h) {
  Route("GET", path, [h = std::move(h)](const HttpRequest& req) -> Result<HttpResponse> {
    ALLUVIUM_ASSIGN_OR_RETURN(std::string body, h(req));
    return HttpResponse{200, "application/json", std::move(body)};
  });
}

void RestServer::Post(const std::string& path,
                      std::function<Result<std::string>(const HttpRequest&)> h) {
  Route("POST", path, [h = std::move(h)](const HttpRequest& req) -> Result<HttpResponse> {
    ALLUVIUM_ASSIGN_OR_RETURN(std::string body, h(req));
    return HttpResponse{200, "application/json", std::move(body)};
  });
}

HttpResponse RestServer::Dispatch(const HttpRequest& request) const {
  auto path = impl_->routes.find(request.path);
  if (path == impl_->routes.end()) {
    return ErrorResponse(NotFound(fmt::format("no endpoint {} {}", request.method, request.path)));
  }
  auto handler = path->second.find(request.method);
  if (handler == path->second.end()) {
    HttpResponse r = ErrorResponse(
        InvalidArgument(fmt::format("{} does not accept {}", request.path, request.method)));
    r.status = 405;
    return r;
  }
  Result<HttpResponse> response = handler->second(request);
  if (!response.ok()) {
    ALLUVIUM_LOG(DEBUG, "REST {} {} -> {}", request.method, request.path, response.status());
    return ErrorResponse(response.status());
  }
  return std::move(response).value();
}

void RestServer::Impl::ReapFinishedLocked() {
  connections.remove_if([](Connection& c) { return c.done.load(); });  // joins their threads
}

void RestServer::Impl::Serve(const RestServer& server, Connection& connection) {
  // Sync Beast reads have no deadline of their own; the socket's receive timeout is one.
  timeval timeout{.tv_sec = kReceiveTimeoutSeconds, .tv_usec = 0};
  ::setsockopt(connection.socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout,
               sizeof timeout);
  beast::flat_buffer buffer;
  while (!stopping) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    parser.header_limit(16 * 1024);
    beast::error_code ec;
    http::read(connection.socket, buffer, parser, ec);
    HttpResponse response;
    bool keep_alive = false;
    if (ec == http::error::end_of_stream || ec == net::error::eof) break;
    if (ec == http::error::body_limit) {
      response = ErrorResponse(
          ResourceExhausted(fmt::format("request body larger than {} bytes", kMaxBodyBytes)));
      response.status = 413;
    } else if (ec) {
      // Socket errors (timeout, reset) end the connection; HTTP parse errors get a 400.
      if (ec.category() != make_error_code(http::error::bad_target).category()) break;
      response = ErrorResponse(InvalidArgument("malformed HTTP request: " + ec.message()));
    } else {
      const auto& req = parser.get();
      HttpRequest request;
      request.method = std::string(req.method_string());
      std::string_view target(req.target().data(), req.target().size());
      const size_t question = target.find('?');
      request.path = std::string(target.substr(0, question));
      if (question != std::string_view::npos)
        request.query = ParseQuery(target.substr(question + 1));
      request.body = req.body();
      response = server.Dispatch(request);
      keep_alive = req.keep_alive();
    }
    http::response<http::string_body> res{static_cast<http::status>(response.status), 11};
    res.set(http::field::server, "alluvium");
    res.set(http::field::content_type, response.content_type);
    res.keep_alive(keep_alive);
    res.body() = std::move(response.body);
    res.prepare_payload();
    http::write(connection.socket, res, ec);
    if (ec || !keep_alive) break;
  }
  beast::error_code ignored;
  connection.socket.shutdown(tcp::socket::shutdown_both, ignored);
  connection.done = true;
}

void RestServer::Impl::AcceptLoop(const RestServer& server) {
  while (!stopping) {
    beast::error_code ec;
    tcp::socket socket(io);
    acceptor.accept(socket, ec);
    if (ec) {
      if (stopping) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // e.g. EMFILE: back off
      continue;
    }
    std::lock_guard lock(mu);
    ReapFinishedLocked();
    if (connections.size() >= kMaxConnections) {
      http::response<http::string_body> res{http::status::service_unavailable, 11};
      res.set(http::field::content_type, "application/json");
      res.body() = ErrorJson(Unavailable("too many connections; retry later"));
      res.prepare_payload();
      http::write(socket, res, ec);
      continue;
    }
    Connection& connection = connections.emplace_back(std::move(socket));
    connection.thread = std::jthread([this, &server, &connection] { Serve(server, connection); });
  }
}

Result<int> RestServer::Start(const std::string& host, int port) {
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) return InvalidArgument(fmt::format("bad bind address '{}'", host));
  tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable(fmt::format("cannot listen on {}:{}: {}", host, port, ec.message()));
  }
  const int bound = impl_->acceptor.local_endpoint().port();
  impl_->accept_thread = std::jthread([this] { impl_->AcceptLoop(*this); });
  return bound;
}

void RestServer::Stop() {
  if (!impl_->accept_thread.joinable()) return;
  impl_->stopping = true;
  // shutdown() wakes a thread blocked in accept() or read() on Linux.
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  impl_->accept_thread.join();
  std::lock_guard lock(impl_->mu);
  for (auto& c : impl_->connections) ::shutdown(c.socket.native_handle(), SHUT_RDWR);
  impl_->connections.clear();  // joins every connection thread
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

}  // namespace alluvium::coordinator
