// Serves short-circuit reads to clients on this host (shortcircuit/protocol.h): over a Unix
// domain socket, it tells a client where cached pages are in the page store's region files and
// hands it their descriptors, so the client reads cached bytes itself instead of through gRPC.
// One thread accepts; each connection gets a thread of its own (clients keep one connection per
// worker, so there are few), up to a bound beyond which connections are refused and the client
// reads through gRPC. Start/Stop from one thread; Stop wakes and joins every thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/cache_filter.h"
#include "common/mutex.h"
#include "common/scoped_fd.h"
#include "common/status.h"
#include "pagestore/page_store.h"
#include "shortcircuit/protocol.h"

namespace alluvium::worker {

class ShortCircuitServer {
 public:
  // Binds the socket at `path` (no thread yet). Pages of files whose data rule in `filter` is
  // not immutable are never handed out: reads of those go through the worker, which applies
  // the rule. Who may connect: any local user, as any may reach the worker's gRPC port; with
  // `owner_only` (the cluster has a token, which the socket does not check), only the worker's
  // own user, and other users' processes read through gRPC, where the token is checked.
  static Result<std::unique_ptr<ShortCircuitServer>> Listen(const std::string& path,
                                                            std::string worker_id,
                                                            pagestore::PageStore& store,
                                                            CacheFilter& filter,
                                                            bool owner_only = false);
  ShortCircuitServer(ScopedFd listener, std::string path, std::string worker_id,
                     pagestore::PageStore& store, CacheFilter& filter);
  ~ShortCircuitServer() { Stop(); }
  ShortCircuitServer(const ShortCircuitServer&) = delete;
  ShortCircuitServer& operator=(const ShortCircuitServer&) = delete;

  void Start();
  void Stop();  // idempotent: stops accepting, closes connections, joins, removes the socket
  const std::string& path() const { return path_; }

 private:
  struct Connection {
    ScopedFd fd;
    std::jthread thread;
    bool done = false;  // under the server's mu_ (not annotatable from a nested struct)
  };

  void Accept(std::stop_token stop);
  void Serve(Connection& connection);
  Status Answer(int fd, std::span<const std::byte> request);
  Status AnswerFirstPages(int fd, const shortcircuit::Request& request,
                          std::span<const std::byte> bytes);
  shortcircuit::PageLocation Find(const pagestore::PageKey& key);
  // Sends a LocateReply of `count` locations, the i-th from locate(i); fails without sending
  // when locate does (a malformed request).
  Status SendLocations(int fd, uint32_t count,
                       const std::function<Result<shortcircuit::PageLocation>(uint32_t)>& locate);

  const ScopedFd listener_;
  const std::string path_;
  const std::string worker_id_;
  pagestore::PageStore& store_;
  CacheFilter& filter_;
  Mutex mu_;
  std::vector<std::unique_ptr<Connection>> connections_ GUARDED_BY(mu_);
  bool stopped_ GUARDED_BY(mu_) = false;
  std::jthread acceptor_;  // last: joined before the members it uses die
};

}  // namespace alluvium::worker
