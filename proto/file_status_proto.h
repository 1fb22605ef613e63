// ufs::FileStatus <-> rpc::FileStatus, for the RPC code on both sides (worker and coordinator).
#pragma once

#include "alluvium.pb.h"
#include "ufs/ufs.h"

namespace alluvium {

inline void ToProto(const ufs::FileStatus& in, rpc::FileStatus* out) {
  out->set_uri(in.uri);
  out->set_is_directory(in.is_directory);
  out->set_length(in.length);
  out->set_mtime_ms(in.mtime_ms);
  out->set_version(in.version);
}

inline ufs::FileStatus FromProto(const rpc::FileStatus& in) {
  return {.uri = in.uri(),
          .is_directory = in.is_directory(),
          .length = in.length(),
          .mtime_ms = in.mtime_ms(),
          .version = in.version()};
}

}  // namespace alluvium
