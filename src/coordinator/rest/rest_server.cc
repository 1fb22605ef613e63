#include "coordinator/rest/rest_server.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <list>
#include <mutex>
#include <sstream>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "common/logging.h"
#include "common/status_mapping.h"
#include "coordinator/rest/tls_transport.h"
#include "coordinator/rest/transport.h"

namespace alluvium::coordinator {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = TransportClock;

constexpr size_t kMaxBodyBytes = 1 << 20;     // job requests are small; refuse anything bigger
constexpr size_t kMaxHeaderBytes = 16 << 10;  // request line and headers
// An over-limit body up to this size is read and dropped after the 413, so that a client that
// sent it whole can go on using its connection; a bigger one ends the connection.
constexpr uint64_t kMaxDrainBytes = 8 << 20;
constexpr size_t kMaxConnections = 256;
// From the first byte of a request to its last (idle keep-alive time included): a client that
// trickles bytes (slowloris) or declares more body than it sends is answered 408 and dropped.
constexpr auto kRequestTimeout = std::chrono::seconds(10);
constexpr auto kWriteTimeout = std::chrono::seconds(10);  // for the client to take an answer
constexpr size_t kReadChunk = 64 << 10;

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

HttpResponse ErrorResponse(const Status& status, int http_status = 0) {
  HttpResponse r{http_status != 0 ? http_status : HttpStatusOf(status.code()), "application/json",
                 RestServer::ErrorJson(status)};
  if (r.status == 401) r.www_authenticate = "Bearer";  // RFC 6750: the scheme to retry with
  return r;
}

// The token of an "Authorization: Bearer <token>" header (scheme in any case); none for a
// missing header or another scheme.
std::optional<std::string> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() < kScheme.size() ||
      !beast::iequals(beast::string_view(authorization.data(), kScheme.size()),
                      beast::string_view(kScheme.data(), kScheme.size()))) {
    return std::nullopt;
  }
  authorization.remove_prefix(kScheme.size());
  const size_t begin = authorization.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return std::string();
  const size_t end = authorization.find_last_not_of(" \t");
  return std::string(authorization.substr(begin, end - begin + 1));
}

bool Authorized(const HttpRequest& request, std::string_view token) {
  return TokenMatches(request.bearer_token.value_or(""), token);
}

// Appends what has arrived to `buffer`; 0 when the peer has closed. kDeadlineExceeded when
// nothing arrives by `deadline`, another error when the connection failed.
Result<size_t> ReadSome(Transport& transport, beast::flat_buffer& buffer,
                        Clock::time_point deadline) {
  const auto space = buffer.prepare(kReadChunk);
  Result<size_t> n = transport.ReadSome(space.data(), space.size(), deadline);
  if (n.ok()) {
    buffer.commit(*n);
  } else if (n.status().code() == Code::kDeadlineExceeded) {
    return DeadlineExceeded(fmt::format("request not received within {} s",
                                        std::chrono::seconds(kRequestTimeout).count()));
  }
  return n;
}

// Reads and drops `length` bytes of body, some of them maybe already in `buffer`.
Status Drain(Transport& transport, beast::flat_buffer& buffer, uint64_t length,
             Clock::time_point deadline) {
  while (true) {
    const size_t take = static_cast<size_t>(std::min<uint64_t>(length, buffer.size()));
    buffer.consume(take);
    length -= take;
    if (length == 0) return OkStatus();
    ALLUVIUM_ASSIGN_OR_RETURN(size_t n, ReadSome(transport, buffer, deadline));
    if (n == 0) return Unavailable("the client closed the connection in the body");
  }
}

// One request read off a connection: a request to route, or a refusal to send (a response
// built here), or nothing (the client went away, or stayed silent between requests).
struct Incoming {
  enum class Kind { kRequest, kRefusal, kNothing } kind = Kind::kNothing;
  HttpRequest request;
  HttpResponse refusal;
  bool keep_alive = false;  // the connection may carry another request after the answer
  bool head = false;        // a HEAD request: the answer has no body
};

Incoming Refuse(const Status& status, int http_status = 0) {
  Incoming in;
  in.kind = Incoming::Kind::kRefusal;
  in.refusal = ErrorResponse(status, http_status);
  return in;
}

// The answer to a parse error. `in_request_line`: Beast had not parsed the request line yet
// (it consumes the request line as soon as it is whole).
Incoming RefuseMalformed(const beast::error_code& ec, bool in_request_line = false) {
  if (ec == http::error::header_limit) {
    if (in_request_line) {
      return Refuse(
          ResourceExhausted(fmt::format("request line longer than {} bytes", kMaxHeaderBytes)),
          414);
    }
    return Refuse(
        ResourceExhausted(fmt::format("request headers larger than {} bytes", kMaxHeaderBytes)),
        431);
  }
  if (ec == http::error::body_limit) {
    return Refuse(
        ResourceExhausted(fmt::format("request body larger than {} bytes", kMaxBodyBytes)), 413);
  }
  return Refuse(InvalidArgument("malformed HTTP request: " + ec.message()));
}

// What to answer when reading stopped early: `status` is a ReadSome error, or OK when the client
// closed; `received` tells whether any of the request had arrived.
Incoming Stopped(const Status& status, bool received) {
  if (!received) return Incoming{};  // an idle connection closed or timed out: no one to answer
  if (status.code() == Code::kDeadlineExceeded) return Refuse(status, 408);
  if (status.ok()) return Refuse(InvalidArgument("the request ends before it is complete"));
  return Incoming{};  // the connection failed: no one to answer
}

// Reads one request by `deadline`. The header is parsed first, so that the size of the body is
// known before any of it is read, and a caller without the cluster's `token` is known before
// any of its body is read.
Incoming ReadRequest(Transport& transport, beast::flat_buffer& buffer, Clock::time_point deadline,
                     std::string_view token) {
  http::request_parser<http::empty_body> header;
  header.header_limit(kMaxHeaderBytes);
  // Checked below, where a drainable body is told from others. (Not boost::none: Beast 1.74
  // compares lengths with the optional, and every length is greater than none.)
  header.body_limit(std::numeric_limits<uint64_t>::max());
  beast::error_code ec;
  size_t consumed = 0;
  while (!header.is_header_done()) {
    if (buffer.size() > 0) {
      const size_t used = header.put(buffer.data(), ec);
      buffer.consume(used);
      consumed += used;
      if (ec && ec != http::error::need_more) return RefuseMalformed(ec, consumed == 0);
      if (header.is_header_done()) break;
    }
    Result<size_t> n = ReadSome(transport, buffer, deadline);
    if (!n.ok() || *n == 0) {
      return Stopped(n.ok() ? OkStatus() : n.status(), buffer.size() > 0 || header.got_some());
    }
  }

  Incoming in;
  const auto& req = header.get();
  in.keep_alive = req.keep_alive();
  in.head = req.method() == http::verb::head;
  in.request.method = std::string(req.method_string());
  const std::string_view target(req.target().data(), req.target().size());
  const size_t question = target.find('?');
  in.request.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) {
    in.request.query = ParseQuery(target.substr(question + 1));
  }
  if (const auto authorization = req.find(http::field::authorization); authorization != req.end()) {
    const auto value = authorization->value();
    in.request.bearer_token = BearerToken(std::string_view(value.data(), value.size()));
  }
  if (!Authorized(in.request, token)) {
    // Dispatch refuses it. Its body is neither read nor kept: the connection ends after the
    // answer (Close() drops what the client still sends).
    in.keep_alive = false;
    in.kind = Incoming::Kind::kRequest;
    return in;
  }
  if (header.is_done()) {  // no body
    in.kind = Incoming::Kind::kRequest;
    return in;
  }

  const bool expect_continue = beast::iequals(req[http::field::expect], "100-continue");
  if (const auto length = header.content_length(); length && *length > kMaxBodyBytes) {
    Incoming refused = RefuseMalformed(http::error::body_limit);
    // A client waiting for "100 Continue" will not send the body: nothing to drain.
    refused.keep_alive = in.keep_alive && !expect_continue && *length <= kMaxDrainBytes &&
                         Drain(transport, buffer, *length, deadline).ok();
    refused.head = in.head;
    return refused;
  }
  if (expect_continue) {
    if (!transport.WriteAll("HTTP/1.1 100 Continue\r\n\r\n", deadline).ok()) return Incoming{};
  }
  http::request_parser<http::string_body> body(std::move(header));
  body.body_limit(kMaxBodyBytes);  // for chunked bodies; a Content-Length was checked above
  body.eager(true);
  while (!body.is_done()) {
    if (buffer.size() > 0) {
      buffer.consume(body.put(buffer.data(), ec));
      if (ec && ec != http::error::need_more) return RefuseMalformed(ec);
      if (body.is_done()) break;
    }
    Result<size_t> n = ReadSome(transport, buffer, deadline);
    if (!n.ok() || *n == 0) return Stopped(n.ok() ? OkStatus() : n.status(), true);
  }
  in.request.body = std::move(body.get().body());
  in.kind = Incoming::Kind::kRequest;
  return in;
}

Status WriteResponse(Transport& transport, const HttpResponse& response, bool keep_alive,
                     bool head) {
  http::response<http::string_body> res{static_cast<http::status>(response.status), 11};
  res.set(http::field::server, "alluvium");
  res.set(http::field::content_type, response.content_type);
  if (!response.allow.empty()) res.set(http::field::allow, response.allow);
  if (!response.www_authenticate.empty()) {
    res.set(http::field::www_authenticate, response.www_authenticate);
  }
  res.keep_alive(keep_alive);
  res.body() = response.body;
  res.prepare_payload();
  std::ostringstream out;
  out << res;
  std::string bytes = std::move(out).str();
  if (head) bytes.resize(bytes.find("\r\n\r\n") + 4);  // HEAD: the header of the answer only
  return transport.WriteAll(bytes, Clock::now() + kWriteTimeout);
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

  explicit Impl(SecuritySettings s) : security(std::move(s)) {}

  const SecuritySettings security;
  std::unique_ptr<TlsServerContext> tls;                         // set by Start() when security.tls
  std::map<std::string, std::map<std::string, Handler>> routes;  // path -> method -> handler
  net::io_context io{1};
  tcp::acceptor acceptor{io};
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::list<Connection> connections;  // guarded by mu
  std::jthread accept_thread;

  void AcceptLoop(const RestServer& server);
  void Serve(const RestServer& server, Connection& connection);
  void ServeRequests(const RestServer& server, Transport& transport);
  void ReapFinishedLocked();
};

RestServer::RestServer(SecuritySettings security)
    : impl_(std::make_unique<Impl>(std::move(security))) {}

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
  // First, so that a caller without the token learns nothing, not even which paths exist.
  if (!Authorized(request, impl_->security.token)) {
    const Status refusal = TokenRefusal(request.bearer_token.has_value());
    ALLUVIUM_LOG(DEBUG, "REST {} {} -> {}", request.method, request.path, refusal);
    return ErrorResponse(refusal);
  }
  auto path = impl_->routes.find(request.path);
  if (path == impl_->routes.end()) {
    return ErrorResponse(NotFound(fmt::format("no endpoint {} {}", request.method, request.path)));
  }
  auto handler = path->second.find(request.method);
  if (handler == path->second.end()) {
    HttpResponse r = ErrorResponse(
        InvalidArgument(fmt::format("{} does not accept {}", request.path, request.method)), 405);
    for (const auto& [method, h] : path->second) {
      r.allow += (r.allow.empty() ? "" : ", ") + method;
    }
    return r;
  }
  Result<HttpResponse> response = InternalError("no response");
  try {
    response = handler->second(request);
  } catch (const std::exception& e) {
    // Handlers return a Status; this is the last line of defence against a library that throws
    // (JSON, regex, allocation): one failed request, not a coordinator down with every job.
    ALLUVIUM_LOG(ERROR, "REST {} {} threw: {}", request.method, request.path, e.what());
    response = InternalError(fmt::format("the request failed unexpectedly: {}", e.what()));
  }
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
  const int fd = connection.socket.native_handle();
  if (tls == nullptr) {
    ServeRequests(server, *NewPlainTransport(fd));
  } else if (Result<std::unique_ptr<Transport>> transport =
                 tls->Accept(fd, Clock::now() + kRequestTimeout);
             transport.ok()) {
    ServeRequests(server, **transport);
  } else {
    // A client's problem (plain HTTP to this port, no or a wrong certificate, a scanner), not
    // the server's: it sees the handshake fail.
    ALLUVIUM_LOG(DEBUG, "REST connection closed: {}", transport.status());
  }
  beast::error_code ignored;
  connection.socket.shutdown(tcp::socket::shutdown_both, ignored);
  connection.done = true;
}

void RestServer::Impl::ServeRequests(const RestServer& server, Transport& transport) {
  beast::flat_buffer buffer;  // received bytes not parsed yet (pipelined requests)
  while (!stopping) {
    Incoming in = ReadRequest(transport, buffer, Clock::now() + kRequestTimeout, security.token);
    if (in.kind == Incoming::Kind::kNothing) break;
    if (in.kind == Incoming::Kind::kRefusal) {
      ALLUVIUM_LOG(DEBUG, "REST request refused: {} {}", in.refusal.status, in.refusal.body);
    }
    const HttpResponse response =
        in.kind == Incoming::Kind::kRequest ? server.Dispatch(in.request) : in.refusal;
    if (!WriteResponse(transport, response, in.keep_alive, in.head).ok()) break;
    if (!in.keep_alive) {
      transport.Close();
      break;
    }
  }
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
      // Over TLS a plain answer would be noise to the client: it sees the connection close.
      if (tls != nullptr) continue;
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
  if (impl_->security.tls) {
    ALLUVIUM_ASSIGN_OR_RETURN(impl_->tls, TlsServerContext::Create(impl_->security.tls_settings));
  }
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
