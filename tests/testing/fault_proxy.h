// An HTTP/1.1 proxy on 127.0.0.1 in front of a test server (s3rver) that fails chosen requests,
// so S3 client retries and timeouts can be tested against real protocol traffic. Keep-alive on
// both sides; bodies are buffered (fine up to a few hundred MiB). One thread per connection.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace alluvium::testing {

class FaultProxy {
 public:
  enum class Fault {
    kInternalError,    // 500 with S3 XML <Error><Code>InternalError</Code>...
    kSlowDown,         // 503 SlowDown
    kTooManyRequests,  // 429 TooManyRequests
    kAccessDenied,     // 403 AccessDenied: S3's permission denied (never retried)
    kReset,            // read the request, close the connection without answering
    kHang,             // read the request, answer nothing for hang_for, then close
    kTruncate,         // forward, send the headers and half the body, then close
  };

  static Result<std::unique_ptr<FaultProxy>> Start(int upstream_port);
  // Closes the listener and every connection (hanging ones too) and joins all threads.
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const;
  std::string endpoint() const;  // "http://127.0.0.1:PORT"

  // The next `count` requests whose target (path and query) contains target_contains get
  // `fault`. Calls add up: each request takes the first rule it matches, before FailEveryNth.
  void FailNext(int count, Fault fault, std::string target_contains = "");
  // Every nth request from now on (counting all requests) gets `fault`; 0 turns it off.
  void FailEveryNth(int n, Fault fault);
  // How long kHang waits before closing; 30 s by default (longer than any client timeout).
  void set_hang_for(std::chrono::milliseconds hang_for);
  // Drops pending FailNext rules and FailEveryNth.
  void Heal();

  int requests() const;  // requests read from clients
  // Their targets (path and query), in the order they were read.
  std::vector<std::string> targets() const;
  int faults_injected() const;  // of those, the ones that got a fault

 private:
  struct Impl;
  explicit FaultProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;  // keeps Boost.Beast out of this header
};

const char* FaultName(FaultProxy::Fault fault);

}  // namespace alluvium::testing
