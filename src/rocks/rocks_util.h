// What both embedded stores (the worker's metastore, the coordinator's job store) need around
// RocksDB: its log routed into ours, and its Status mapped to ours.
#pragma once

#include <memory>
#include <string_view>

#include <rocksdb/env.h>
#include <rocksdb/status.h>

#include "common/status.h"

namespace alluvium::rocks {

// RocksDB's log, forwarded to ours, warnings and errors only (its info lines are chatty). Set it
// as Options::info_log so there is no LOG file beside the data: that file fails on a full disk,
// and RocksDB 7 then aborts the whole process (in builds with assertions, Debian's among them) at
// the next line it logs, which on a full disk is the very error it is reporting.
std::shared_ptr<rocksdb::Logger> MakeLogger();

// Corruption -> DataLoss, NotFound, NoSpace -> ResourceExhausted, InvalidArgument,
// Busy/TryAgain/TimedOut -> Unavailable, a held lock -> FailedPrecondition (another process owns
// the directory), others Internal. Message: "context: rocksdb's message".
Status FromRocks(const rocksdb::Status& s, std::string_view context);

}  // namespace alluvium::rocks
