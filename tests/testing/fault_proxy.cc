#include "testing/fault_proxy.h"

#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace alluvium::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Fault = FaultProxy::Fault;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

namespace {

constexpr uint64_t kBodyLimit = uint64_t{1} << 30;

// Sync sockets block in the kernel; shutdown() is what wakes a thread blocked in recv or accept
// (close() from another thread does not, and could hit a reused descriptor).
void Shutdown(tcp::socket& socket) {
  if (socket.is_open()) ::shutdown(socket.native_handle(), SHUT_RDWR);
}

Response ErrorReply(Fault fault, const Request& request) {
  http::status status = http::status::internal_server_error;
  std::string code = "InternalError";
  std::string message = "We encountered an internal error. Please try again.";
  if (fault == Fault::kSlowDown) {
    status = http::status::service_unavailable;
    code = "SlowDown";
    message = "Please reduce your request rate.";
  } else if (fault == Fault::kTooManyRequests) {
    status = http::status::too_many_requests;
    code = "TooManyRequests";
    message = "Please reduce your request rate.";
  } else if (fault == Fault::kAccessDenied) {
    status = http::status::forbidden;
    code = "AccessDenied";
    message = "Access Denied";
  }
  const std::string xml = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>"
      "<RequestId>FAULTPROXY</RequestId></Error>",
      code, message);
  Response response(status, request.version());
  response.set(http::field::content_type, "application/xml");
  response.set("x-amz-request-id", "FAULTPROXY");
  response.content_length(xml.size());
  if (request.method() != http::verb::head) response.body() = xml;  // HEAD: headers only
  response.keep_alive(request.keep_alive());
  return response;
}

struct Connection {
  explicit Connection(asio::io_context& io) : client(io), upstream(io) {}
  tcp::socket client;
  tcp::socket upstream;
  beast::flat_buffer upstream_buffer;
  std::thread thread;
  bool done = false;  // the thread has finished: join it
};

}  // namespace

const char* FaultName(Fault fault) {
  switch (fault) {
    case Fault::kInternalError:
      return "InternalError";
    case Fault::kSlowDown:
      return "SlowDown";
    case Fault::kTooManyRequests:
      return "TooManyRequests";
    case Fault::kAccessDenied:
      return "AccessDenied";
    case Fault::kReset:
      return "Reset";
    case Fault::kHang:
      return "Hang";
    case Fault::kTruncate:
      return "Truncate";
  }
  return "?";
}

struct FaultProxy::Impl {
  struct Rule {
    int remaining;
    Fault fault;
    std::string target_contains;
  };

  int upstream_port = 0;
  int port = 0;
  asio::io_context io;  // only to create sockets: every operation here is synchronous
  tcp::acceptor acceptor{io};
  std::thread accept_thread;
  std::atomic<int> requests{0};
  std::atomic<int> faults{0};

  // Guards what follows, and opening and closing the sockets of `connections`.
  std::mutex mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::list<std::unique_ptr<Connection>> connections;
  std::vector<Rule> rules;
  std::vector<std::string> targets;
  int every_nth = 0;
  Fault nth_fault = Fault::kInternalError;
  int nth_seen = 0;
  std::chrono::milliseconds hang_for{std::chrono::seconds(30)};

  void AcceptLoop();
  void Serve(Connection& c);
  std::optional<Fault> PickFault(std::string_view target);
  std::optional<Response> Forward(Connection& c, const Request& request);
  void CloseUpstream(Connection& c);
  void Stop();
};

void FaultProxy::Impl::AcceptLoop() {
  for (;;) {
    tcp::socket socket(io);
    beast::error_code ec;
    acceptor.accept(socket, ec);
    std::list<std::unique_ptr<Connection>> finished;
    std::lock_guard lock(mu);
    if (stopping) return;
    for (auto it = connections.begin(); it != connections.end();) {
      auto next = std::next(it);
      if ((*it)->done) finished.splice(finished.end(), connections, it);
      it = next;
    }
    for (auto& c : finished) c->thread.join();  // already returned: done is its last step
    if (ec) continue;
    socket.set_option(tcp::no_delay(true), ec);
    auto& c = *connections.emplace_back(std::make_unique<Connection>(io));
    c.client = std::move(socket);
    c.thread = std::thread([this, &c] {
      Serve(c);
      std::lock_guard lock(mu);
      beast::error_code ignored;
      c.client.close(ignored);
      c.upstream.close(ignored);
      c.done = true;
    });
  }
}

std::optional<Fault> FaultProxy::Impl::PickFault(std::string_view target) {
  std::lock_guard lock(mu);
  targets.emplace_back(target);
  const bool nth = every_nth > 0 && ++nth_seen % every_nth == 0;
  for (auto it = rules.begin(); it != rules.end(); ++it) {
    if (target.find(it->target_contains) == std::string_view::npos) continue;
    const Fault fault = it->fault;
    if (--it->remaining == 0) rules.erase(it);
    return fault;
  }
  if (nth) return nth_fault;
  return std::nullopt;
}

void FaultProxy::Impl::CloseUpstream(Connection& c) {
  std::lock_guard lock(mu);
  beast::error_code ignored;
  c.upstream.close(ignored);
  c.upstream_buffer.clear();
}

// The upstream's answer, or nothing if it is unreachable. A kept-alive upstream connection may
// have been closed while idle (s3rver: after 5 s): then one retry on a new connection.
std::optional<Response> FaultProxy::Impl::Forward(Connection& c, const Request& request) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    beast::error_code ec;
    const bool reused = c.upstream.is_open();
    if (!reused) {
      {
        std::lock_guard lock(mu);
        if (stopping) return std::nullopt;
        c.upstream.open(tcp::v4(), ec);
      }
      if (!ec) c.upstream.set_option(tcp::no_delay(true), ec);
      if (!ec) {
        c.upstream.connect(
            {asio::ip::address_v4::loopback(), static_cast<unsigned short>(upstream_port)}, ec);
      }
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    if (request.method() == http::verb::head) parser.skip(true);  // Content-Length, no body
    if (!ec) http::write(c.upstream, request, ec);
    if (!ec) http::read(c.upstream, c.upstream_buffer, parser, ec);
    if (!ec) {
      Response response = parser.release();
      if (!response.keep_alive()) CloseUpstream(c);
      return response;
    }
    CloseUpstream(c);
    if (!reused || parser.got_some()) return std::nullopt;
  }
  return std::nullopt;
}

void FaultProxy::Impl::Serve(Connection& c) {
  beast::flat_buffer buffer;
  for (;;) {
    beast::error_code ec;
    http::request_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    http::read_header(c.client, buffer, parser, ec);
    if (ec) return;
    // The body is buffered before forwarding, so answer 100-continue here and hide it upstream.
    if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
      http::response<http::empty_body> go_on(http::status::continue_, parser.get().version());
      http::write(c.client, go_on, ec);
      if (ec) return;
    }
    http::read(c.client, buffer, parser, ec);
    if (ec) return;
    Request request = parser.release();
    request.erase(http::field::expect);
    ++requests;

    const beast::string_view target = request.target();
    const std::optional<Fault> fault = PickFault({target.data(), target.size()});
    if (fault) ++faults;
    if (fault == Fault::kReset) {
      c.client.set_option(asio::socket_base::linger(true, 0), ec);  // close sends RST
      return;
    }
    if (fault == Fault::kHang) {
      std::unique_lock lock(mu);
      stop_cv.wait_for(lock, hang_for, [this] { return stopping; });
      return;
    }
    if (fault && fault != Fault::kTruncate) {
      http::write(c.client, ErrorReply(*fault, request), ec);
      if (ec || !request.keep_alive()) return;
      continue;
    }

    std::optional<Response> response = Forward(c, request);
    if (!response) {
      Response bad(http::status::bad_gateway, request.version());
      bad.body() = fmt::format("FaultProxy: upstream 127.0.0.1:{} failed\n", upstream_port);
      bad.prepare_payload();
      bad.keep_alive(false);
      http::write(c.client, bad, ec);
      return;
    }
    if (fault == Fault::kTruncate) {
      // Full Content-Length, half the body: the client sees the connection close mid-body.
      if (request.method() != http::verb::head) {
        response->chunked(false);
        response->content_length(response->body().size());
      }
      http::response_serializer<http::string_body> serializer(*response);
      http::write_header(c.client, serializer, ec);
      if (!ec) {
        asio::write(c.client, asio::buffer(response->body().data(), response->body().size() / 2),
                    ec);
      }
      return;
    }
    const bool keep_alive = request.keep_alive() && response->keep_alive();
    response->keep_alive(keep_alive);
    http::write(c.client, *response, ec);
    if (ec || !keep_alive) return;
  }
}

void FaultProxy::Impl::Stop() {
  {
    std::lock_guard lock(mu);
    stopping = true;
    for (auto& c : connections) {
      Shutdown(c->client);
      Shutdown(c->upstream);
    }
    if (acceptor.is_open()) ::shutdown(acceptor.native_handle(), SHUT_RDWR);
  }
  stop_cv.notify_all();
  if (accept_thread.joinable()) accept_thread.join();
  // The accept thread is gone: nothing adds to or removes from `connections` any more.
  for (auto& c : connections) c->thread.join();
  connections.clear();
  beast::error_code ignored;
  acceptor.close(ignored);
}

Result<std::unique_ptr<FaultProxy>> FaultProxy::Start(int upstream_port) {
  auto impl = std::make_unique<Impl>();
  impl->upstream_port = upstream_port;
  const tcp::endpoint local(asio::ip::address_v4::loopback(), 0);
  beast::error_code ec;
  impl->acceptor.open(local.protocol(), ec);
  if (!ec) impl->acceptor.bind(local, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) impl->port = impl->acceptor.local_endpoint(ec).port();
  if (ec) return Unavailable("FaultProxy: listen on 127.0.0.1: " + ec.message());
  impl->accept_thread = std::thread([p = impl.get()] { p->AcceptLoop(); });
  return std::unique_ptr<FaultProxy>(new FaultProxy(std::move(impl)));
}

FaultProxy::FaultProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

FaultProxy::~FaultProxy() { impl_->Stop(); }

int FaultProxy::port() const { return impl_->port; }

std::string FaultProxy::endpoint() const { return fmt::format("http://127.0.0.1:{}", port()); }

void FaultProxy::FailNext(int count, Fault fault, std::string target_contains) {
  if (count <= 0) return;
  std::lock_guard lock(impl_->mu);
  impl_->rules.push_back({count, fault, std::move(target_contains)});
}

void FaultProxy::FailEveryNth(int n, Fault fault) {
  std::lock_guard lock(impl_->mu);
  impl_->every_nth = n;
  impl_->nth_fault = fault;
  impl_->nth_seen = 0;
}

void FaultProxy::set_hang_for(std::chrono::milliseconds hang_for) {
  std::lock_guard lock(impl_->mu);
  impl_->hang_for = hang_for;
}

void FaultProxy::Heal() {
  std::lock_guard lock(impl_->mu);
  impl_->rules.clear();
  impl_->every_nth = 0;
}

int FaultProxy::requests() const { return impl_->requests.load(); }

std::vector<std::string> FaultProxy::targets() const {
  std::lock_guard lock(impl_->mu);
  return impl_->targets;
}

int FaultProxy::faults_injected() const { return impl_->faults.load(); }

}  // namespace alluvium::testing
