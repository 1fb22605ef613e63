// Channels from one of our processes to another (client, coordinator, worker). gRPC's defaults
// suit long-lived peers behind load balancers, not a cache cluster whose processes restart: after
// failed connects it waits up to 2 minutes before trying again, so a coordinator back within a
// second would not hear from its workers until long after it had marked them lost.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "common/security.h"

namespace alluvium::rpc {

struct ChannelOptions {
  // The longest wait between connection attempts to a peer that is down.
  std::chrono::milliseconds max_reconnect_backoff{1000};
  int max_receive_message_bytes = -1;  // -1: gRPC's default (4 MiB)
  // Bytes a peer may send on one stream ahead of this side's reading (its HTTP/2 window), with
  // gRPC's bandwidth-delay probing off. 0: gRPC's default, which grows the window as it probes;
  // on loopback it grew large enough that received messages no longer fit in warm memory.
  int stream_window_bytes = 0;
  // TLS and the cluster token (proto/cluster_security.h); none by default.
  SecuritySettings security;
};

// A channel (TLS and token as options.security says) with its own connections (never shared with
// other channels: a new channel would otherwise inherit a connection to a process that has just
// died) and a bounded reconnect backoff.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& address,
                                          const ChannelOptions& options = {});

}  // namespace alluvium::rpc
