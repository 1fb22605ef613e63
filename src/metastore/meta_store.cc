// MetaStore: see meta_store.h. RocksDB is tuned modestly for many small values (~60 bytes) read by
// point lookups, most of which, on a cold cache, are misses.
#include "metastore/meta_store.h"
#include "common/clock.h"

#include <chrono>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "common/logging.h"
#include "common/status_mapping.h"
#include "metastore/value_codec.h"
#include "rocks/rocks_util.h"

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
  options.info_log = rocks::MakeLogger();  // no LOG file of its own (see rocks_util.h)

  rocksdb::BlockBasedTableOptions table;
  // Lookups of URIs never cached are common; a Bloom filter (10 bits/key, ~1% false positives)
  // answers most of them without reading a data block.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.block_cache = rocksdb::NewLRUCache(32 << 20);  // hot metadata stays in memory
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
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

namespace {

// The database in `dir`, created if missing. kDataLoss, naming `dir`, if it is damaged.
Result<std::unique_ptr<rocksdb::DB>> OpenDb(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return FromErrno(ec.value(), fmt::format("create metastore dir '{}'", dir.string()));

  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(MakeOptions(), dir.string(), &raw);
  std::unique_ptr<rocksdb::DB> db(raw);
  if (s.IsPathNotFound()) {
    // The directory exists (created above), so a file the database names is gone: damage.
    return DataLoss(fmt::format("open metastore '{}': {}", dir.string(), s.ToString()));
  }
  if (!s.ok()) return rocks::FromRocks(s, fmt::format("open metastore '{}'", dir.string()));
  return db;
}

// OpenDb, but a damaged database is deleted and created anew, empty.
Result<std::unique_ptr<rocksdb::DB>> OpenOrResetDb(const std::filesystem::path& dir) {
  Result<std::unique_ptr<rocksdb::DB>> db = OpenDb(dir);
  if (db.ok() || db.status().code() != Code::kDataLoss) return db;
  ALLUVIUM_LOG(WARN, "metastore {} is damaged ({}); action=delete and start empty", dir.string(),
               db.status().message());
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) {
    return FromErrno(ec.value(), fmt::format("delete damaged metastore '{}'", dir.string()));
  }
  return OpenDb(dir);
}

// How often writes try to reopen a database closed after a failed write.
constexpr auto kReopenInterval = std::chrono::seconds(1);

}  // namespace

Result<std::unique_ptr<MetaStore>> MetaStore::Open(const std::filesystem::path& dir) {
  ALLUVIUM_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db, OpenDb(dir));
  return std::make_unique<MetaStore>(PassKey{}, std::move(db), dir, /*reset_if_damaged=*/false);
}

Result<std::unique_ptr<MetaStore>> MetaStore::OpenOrReset(const std::filesystem::path& dir) {
  ALLUVIUM_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db, OpenOrResetDb(dir));
  return std::make_unique<MetaStore>(PassKey{}, std::move(db), dir, /*reset_if_damaged=*/true);
}

MetaStore::MetaStore(PassKey, std::unique_ptr<rocksdb::DB> db, std::filesystem::path dir,
                     bool reset_if_damaged)
    : dir_(std::move(dir)), reset_if_damaged_(reset_if_damaged), db_(std::move(db)) {}

// Out of line, where rocksdb::DB is complete. Deleting the DB waits for background flushes and
// compactions; unflushed writes are in the WAL, replayed at the next Open.
MetaStore::~MetaStore() = default;

Status MetaStore::Write(std::string_view context, const WriteOp& op) {
  std::lock_guard writes(write_mu_);
  Status failure = Unavailable(fmt::format(
      "{}: metastore '{}' is closed after a failed write; reopening it", context, dir_.string()));
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (attempt > 0 && !EnsureOpenLocked()) break;
    std::shared_lock lock(mu_);
    if (db_ == nullptr) continue;
    const rocksdb::Status s = op(*db_);
    if (s.ok()) return OkStatus();
    failure = rocks::FromRocks(s, context);
    if (!s.IsIOError()) return failure;  // about this write, not the database
    lock.unlock();
    CloseAfterFailedWriteLocked(failure);
  }
  return failure;
}

void MetaStore::CloseAfterFailedWriteLocked(const Status& failure) {
  std::unique_lock lock(mu_);
  if (db_ == nullptr) return;
  ALLUVIUM_LOG(WARN, "metastore {}: write failed ({}); action=close, reopen on a later write",
               dir_.string(), failure.message());
  db_.reset();
}

bool MetaStore::EnsureOpenLocked() {
  {
    std::shared_lock lock(mu_);
    if (db_ != nullptr) return true;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now < next_reopen_) return false;
  next_reopen_ = now + kReopenInterval;
  Result<std::unique_ptr<rocksdb::DB>> db = reset_if_damaged_ ? OpenOrResetDb(dir_) : OpenDb(dir_);
  if (!db.ok()) {
    ALLUVIUM_LOG(DEBUG, "metastore {}: cannot reopen yet: {}", dir_.string(), db.status());
    return false;
  }
  std::unique_lock lock(mu_);
  db_ = std::move(*db);
  ALLUVIUM_LOG(INFO, "metastore {} reopened after a failed write", dir_.string());
  return true;
}

Status MetaStore::Put(const ufs::FileStatus& status) {
  if (status.uri.empty()) return InvalidArgument("metastore put: empty URI");
  ALLUVIUM_ASSIGN_OR_RETURN(std::string value,
                            EncodeCachedStatus({.status = status, .cached_at_ms = UnixMillis()}));
  return Write(fmt::format("metastore put '{}'", status.uri),
               [&](rocksdb::DB& db) { return db.Put(MakeWriteOptions(), status.uri, value); });
}

Result<CachedStatus> MetaStore::Get(std::string_view uri) const {
  std::shared_lock lock(mu_);
  if (db_ == nullptr) {
    return Unavailable(fmt::format("metastore get '{}': closed after a failed write", uri));
  }
  rocksdb::PinnableSlice value;
  const rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), uri, &value);
  if (s.IsNotFound()) return NotFound(fmt::format("no cached status for '{}'", uri));
  if (!s.ok()) return rocks::FromRocks(s, fmt::format("metastore get '{}'", uri));
  return DecodeCachedStatus(uri, value.ToStringView());
}

Status MetaStore::Delete(std::string_view uri) {
  return Write(fmt::format("metastore delete '{}'", uri),
               [&](rocksdb::DB& db) { return db.Delete(MakeWriteOptions(), uri); });
}

Status MetaStore::DeletePrefix(std::string_view uri_prefix) {
  if (uri_prefix.empty()) return InvalidArgument("metastore delete prefix: empty prefix");
  return Write(fmt::format("metastore delete prefix '{}'", uri_prefix), [&](rocksdb::DB& db) {
    if (std::optional<std::string> end = PrefixSuccessor(uri_prefix)) {
      // One range tombstone, however many entries lie under the prefix.
      return db.DeleteRange(MakeWriteOptions(), db.DefaultColumnFamily(), uri_prefix, *end);
    }
    // No upper bound to give DeleteRange: delete key by key, in one atomic batch.
    rocksdb::WriteBatch batch;
    std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(uri_prefix); it->Valid() && it->key().starts_with(uri_prefix); it->Next()) {
      batch.Delete(it->key());
    }
    if (!it->status().ok()) return it->status();
    return db.Write(MakeWriteOptions(), &batch);
  });
}

}  // namespace alluvium::metastore
