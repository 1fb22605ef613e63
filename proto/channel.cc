#include "proto/channel.h"

#include <algorithm>

#include "proto/cluster_security.h"

namespace alluvium::rpc {

std::shared_ptr<grpc::Channel> NewChannel(const std::string& address,
                                          const ChannelOptions& options) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  const int max_backoff =
      static_cast<int>(std::max<int64_t>(options.max_reconnect_backoff.count(), 1));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_backoff);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min(max_backoff, 100));
  // GRPC_ARG_MIN_RECONNECT_BACKOFF_MS stays at gRPC's 20 s: despite its name it is also how long
  // one connection attempt may take, and 100 ms failed handshakes on a loaded (or sanitized) host.
  if (options.max_receive_message_bytes >= 0) {
    args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  }
  if (options.stream_window_bytes > 0) {
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, options.stream_window_bytes);
  }
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      address, ChannelCredentials(options.security), args, TokenInterceptors(options.security));
}

}  // namespace alluvium::rpc
