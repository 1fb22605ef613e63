#include "worker/short_circuit_server.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <functional>

#include "common/logging.h"
#include "common/metrics.h"
#include "shortcircuit/protocol.h"
#include "shortcircuit/seqpacket.h"

namespace alluvium::worker {
namespace sc = shortcircuit;
namespace {

constexpr size_t kMaxConnections = 256;

metrics::Counter& connections_total = metrics::NewCounter(
    "alluvium_worker_short_circuit_connections_total", "Short-circuit connections accepted.");
metrics::Counter& pages_located =
    metrics::NewCounter("alluvium_worker_short_circuit_pages_total",
                        "Cached pages whose location was handed to short-circuit readers.");

}  // namespace

Result<std::unique_ptr<ShortCircuitServer>> ShortCircuitServer::Listen(const std::string& path,
                                                                       std::string worker_id,
                                                                       pagestore::PageStore& store,
                                                                       CacheFilter& filter,
                                                                       bool owner_only) {
  ALLUVIUM_ASSIGN_OR_RETURN(ScopedFd listener, sc::Listen(path, 64, owner_only ? 0600 : 0666));
  return std::make_unique<ShortCircuitServer>(std::move(listener), path, std::move(worker_id),
                                              store, filter);
}

ShortCircuitServer::ShortCircuitServer(ScopedFd listener, std::string path, std::string worker_id,
                                       pagestore::PageStore& store, CacheFilter& filter)
    : listener_(std::move(listener)),
      path_(std::move(path)),
      worker_id_(std::move(worker_id)),
      store_(store),
      filter_(filter) {}

void ShortCircuitServer::Start() {
  acceptor_ = std::jthread([this](std::stop_token stop) { Accept(stop); });
}

void ShortCircuitServer::Stop() {
  std::vector<std::unique_ptr<Connection>> connections;
  {
    MutexLock lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    connections.swap(connections_);
  }
  // shutdown() wakes the threads blocked in accept() and recvmsg(); then they are joined.
  ::shutdown(listener_.get(), SHUT_RDWR);
  acceptor_ = {};
  for (auto& c : connections) ::shutdown(c->fd.get(), SHUT_RDWR);
  connections.clear();
  ::unlink(path_.c_str());
}

void ShortCircuitServer::Accept(std::stop_token stop) {
  while (!stop.stop_requested()) {
    ScopedFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd.valid()) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down by Stop, or the socket is broken: clients read through gRPC
    }
    MutexLock lock(mu_);
    if (stopped_) return;
    // Join the threads of connections that have ended.
    std::erase_if(connections_, [](const std::unique_ptr<Connection>& c) { return c->done; });
    if (connections_.size() >= kMaxConnections) {
      ALLUVIUM_LOG(WARN, "short-circuit: {} connections open, refusing one more", kMaxConnections);
      continue;  // closed: that client reads through gRPC
    }
    connections_total.Increment();
    auto connection = std::make_unique<Connection>();
    connection->fd = std::move(fd);
    Connection& c = *connection;
    connections_.push_back(std::move(connection));
    c.thread = std::jthread([this, &c] { Serve(c); });
  }
}

void ShortCircuitServer::Serve(Connection& connection) {
  const int fd = connection.fd.get();
  sc::Hello hello;
  hello.page_size = store_.page_size();
  hello.regions = static_cast<uint32_t>(store_.RegionFds().size());
  std::memcpy(hello.worker_id, worker_id_.data(),
              std::min(worker_id_.size(), sizeof(hello.worker_id) - 1));
  Status st = sc::Send(fd, sc::BytesOf(hello));
  std::vector<std::byte> request(
      std::max(sizeof(sc::Request) + sc::kMaxUriBytes, sc::kMaxRequestBytes) + 1);
  while (st.ok()) {
    auto n = sc::Receive(fd, request);
    if (!n.ok()) break;  // closed by the client or by Stop
    st = Answer(fd, std::span(request.data(), *n));
  }
  if (!st.ok()) ALLUVIUM_LOG(DEBUG, "short-circuit connection ended: {}", st);
  MutexLock lock(mu_);
  connection.done = true;
}

Status ShortCircuitServer::Answer(int fd, std::span<const std::byte> bytes) {
  sc::Request request;
  if (bytes.size() < sizeof(request)) {
    return InvalidArgument(fmt::format("short-circuit request of {} bytes", bytes.size()));
  }
  std::memcpy(&request, bytes.data(), sizeof(request));
  const std::string_view uri(reinterpret_cast<const char*>(bytes.data()) + sizeof(request),
                             bytes.size() - sizeof(request));
  if (request.type == sc::kGetFd) {
    const std::vector<int> fds = store_.RegionFds();
    const bool ok = request.region < fds.size();
    return sc::Send(fd, sc::BytesOf(sc::FdReply{.ok = ok ? 1u : 0u}),
                    ok ? fds[request.region] : -1);
  }
  if (request.type == sc::kLocateFirstPages) return AnswerFirstPages(fd, request, bytes);
  if (request.type != sc::kLocate || request.count == 0 || request.count > sc::kMaxPagesPerLocate ||
      request.uri_length != uri.size()) {
    return InvalidArgument(fmt::format("short-circuit request type {} count {} uri of {} bytes",
                                       request.type, request.count, uri.size()));
  }
  // Only immutable data is read around the worker; maxAge and skipCache rules need it.
  const bool immutable = filter_.ForData(uri).type == CacheRuleType::kImmutable;
  return SendLocations(fd, request.count, [&](uint32_t i) -> Result<sc::PageLocation> {
    if (!immutable) return sc::PageLocation{};
    return Find(
        {.file = {.hi = request.file_hi, .lo = request.file_lo}, .index = request.first_page + i});
  });
}

sc::PageLocation ShortCircuitServer::Find(const pagestore::PageKey& key) {
  auto extent = store_.Locate(key);
  if (!extent.ok()) return {};
  return {.found = 1,
          .region = extent->region,
          .offset = extent->offset,
          .length = extent->length,
          .checksum = extent->checksum};
}

Status ShortCircuitServer::AnswerFirstPages(int fd, const sc::Request& request,
                                            std::span<const std::byte> bytes) {
  const size_t refs_size = static_cast<size_t>(request.count) * sizeof(sc::FileRef);
  if (request.count == 0 || request.count > sc::kMaxFilesPerLocate ||
      bytes.size() < sizeof(request) + refs_size) {
    return InvalidArgument(fmt::format("short-circuit first-pages request of {} files, {} bytes",
                                       request.count, bytes.size()));
  }
  size_t uri_at = sizeof(request) + refs_size;
  return SendLocations(fd, request.count, [&](uint32_t i) -> Result<sc::PageLocation> {
    sc::FileRef ref;
    std::memcpy(&ref, bytes.data() + sizeof(request) + i * sizeof(ref), sizeof(ref));
    if (ref.uri_length > bytes.size() - uri_at) {
      return InvalidArgument("short-circuit first-pages request: URIs run past the message");
    }
    const std::string_view uri(reinterpret_cast<const char*>(bytes.data()) + uri_at,
                               ref.uri_length);
    uri_at += ref.uri_length;
    if (filter_.ForData(uri).type != CacheRuleType::kImmutable) return sc::PageLocation{};
    return Find({.file = {.hi = ref.file_hi, .lo = ref.file_lo}, .index = 0});
  });
}

Status ShortCircuitServer::SendLocations(
    int fd, uint32_t count, const std::function<Result<sc::PageLocation>(uint32_t)>& locate) {
  std::vector<std::byte> reply(sizeof(sc::LocateReplyHeader) + count * sizeof(sc::PageLocation));
  const sc::LocateReplyHeader header{.count = count};
  std::memcpy(reply.data(), &header, sizeof(header));
  uint64_t found = 0;
  for (uint32_t i = 0; i < count; ++i) {
    ALLUVIUM_ASSIGN_OR_RETURN(sc::PageLocation location, locate(i));
    found += location.found;
    std::memcpy(reply.data() + sizeof(header) + i * sizeof(location), &location, sizeof(location));
  }
  pages_located.Increment(found);
  return sc::Send(fd, reply);
}

}  // namespace alluvium::worker
