// MetaStore: see meta_store.h. RocksDB is tuned modestly for many small values (~60 bytes) read by
// point lookups, most of which, on a cold cache, are misses.
#include "metastore/meta_store.h"
#include "common/clock.h"

#include <chrono>
#include <string>
#include <system_error>
#include <utility>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "common/status_mapping.h"
#include "metastore/value_codec.h"

namespace alluvium::metastore {
namespace {

// A write returns once it is in the WAL in the OS page cache, without an fsync (sync = false,
// RocksDB's default, spelled out because it is a choice). A process crash loses nothing; a
// machine crash may lose the last writes, which here only means misses refetched from the UFS,
// cheaper than an fsync per Put on the load path. The WAL stays on, so restarts keep entries.
rocksdb::WriteOptions MakeWriteOptions() {
  rocksdb::WriteOptions options;
  options.sync = false;
  options.disableWAL = false;
  return options;
}

rocksdb::Options MakeOptions() {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;  // report corruption at Open rather than serve from it
  // One flush and one compaction at a time: the worker's disks are mostly for page I/O.
  options.max_background_jobs = 2;
  // 16 MiB of memtable holds ~200k entries; smaller than the 64 MiB default to bound memory and
  // WAL replay time at restart.
  options.write_buffer_size = 16 << 20;
  // RocksDB's own info LOG, rotated so it cannot fill the disk.
  options.max_log_file_size = 16 << 20;
  options.keep_log_file_num = 4;

  rocksdb::BlockBasedTableOptions table;
  // Lookups of URIs never cached are common; a Bloom filter (10 bits/key, ~1% false positives)
  // answers most of them without reading a data block.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.block_cache = rocksdb::NewLRUCache(32 << 20);  // hot metadata stays in memory
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  std::string message = fmt::format("{}: {}", context, s.ToString());
  if (s.IsCorruption()) return DataLoss(std::move(message));
  if (s.IsNotFound()) return NotFound(std::move(message));
  if (s.IsNoSpace()) return ResourceExhausted(std::move(message));
  if (s.IsInvalidArgument()) return InvalidArgument(std::move(message));
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut()) return Unavailable(std::move(message));
  return InternalError(std::move(message));
}

// The smallest string greater than every string starting with `prefix`, if there is one (there
// is none when the prefix is all 0xff bytes).
std::optional<std::string> PrefixSuccessor(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last != 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<MetaStore>> MetaStore::Open(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return FromErrno(ec.value(), fmt::format("create metastore dir '{}'", dir.string()));

  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(MakeOptions(), dir.string(), &raw);
  std::unique_ptr<rocksdb::DB> db(raw);
  if (!s.ok()) return FromRocks(s, fmt::format("open metastore '{}'", dir.string()));
  return std::make_unique<MetaStore>(PassKey{}, std::move(db), dir);
}

MetaStore::MetaStore(PassKey, std::unique_ptr<rocksdb::DB> db, std::filesystem::path dir)
    : db_(std::move(db)), dir_(std::move(dir)) {}

// Out of line, where rocksdb::DB is complete. Deleting the DB waits for background flushes and
// compactions; unflushed writes are in the WAL, replayed at the next Open.
MetaStore::~MetaStore() = default;

Status MetaStore::Put(const ufs::FileStatus& status) {
  if (status.uri.empty()) return InvalidArgument("metastore put: empty URI");
  ALLUVIUM_ASSIGN_OR_RETURN(std::string value,
                            EncodeCachedStatus({.status = status, .cached_at_ms = UnixMillis()}));
  const rocksdb::Status s = db_->Put(MakeWriteOptions(), status.uri, value);
  if (!s.ok()) return FromRocks(s, fmt::format("metastore put '{}'", status.uri));
  return OkStatus();
}

Result<CachedStatus> MetaStore::Get(std::string_view uri) const {
  rocksdb::PinnableSlice value;
  const rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), uri, &value);
  if (s.IsNotFound()) return NotFound(fmt::format("no cached status for '{}'", uri));
  if (!s.ok()) return FromRocks(s, fmt::format("metastore get '{}'", uri));
  return DecodeCachedStatus(uri, value.ToStringView());
}

Status MetaStore::Delete(std::string_view uri) {
  const rocksdb::Status s = db_->Delete(MakeWriteOptions(), uri);
  if (!s.ok()) return FromRocks(s, fmt::format("metastore delete '{}'", uri));
  return OkStatus();
}

Status MetaStore::DeletePrefix(std::string_view uri_prefix) {
  if (uri_prefix.empty()) return InvalidArgument("metastore delete prefix: empty prefix");
  const std::string context = fmt::format("metastore delete prefix '{}'", uri_prefix);
  if (std::optional<std::string> end = PrefixSuccessor(uri_prefix)) {
    // One range tombstone, however many entries lie under the prefix.
    const rocksdb::Status s =
        db_->DeleteRange(MakeWriteOptions(), db_->DefaultColumnFamily(), uri_prefix, *end);
    if (!s.ok()) return FromRocks(s, context);
    return OkStatus();
  }
  // No upper bound to give DeleteRange: delete key by key, in one atomic batch.
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(uri_prefix); it->Valid() && it->key().starts_with(uri_prefix); it->Next()) {
    batch.Delete(it->key());
  }
  if (!it->status().ok()) return FromRocks(it->status(), context);
  const rocksdb::Status s = db_->Write(MakeWriteOptions(), &batch);
  if (!s.ok()) return FromRocks(s, context);
  return OkStatus();
}

}  // namespace alluvium::metastore
