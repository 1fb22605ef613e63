#include "coordinator/store/kv_store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include "common/status_mapping.h"
#include "rocks/rocks_util.h"

namespace alluvium::coordinator {

KvStore::KvStore(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}

KvStore::~KvStore() = default;

Result<std::unique_ptr<KvStore>> KvStore::Open(const std::filesystem::path& dir) {
  // Created first: RocksDB would create it too, but only after logging an error for its absence.
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return FromErrno(ec.value(), "create coordinator store dir " + dir.string());
  rocksdb::Options options;
  options.create_if_missing = true;
  options.max_open_files = 256;
  options.info_log = rocks::MakeLogger();  // no LOG file of its own (see rocks_util.h)
  rocksdb::DB* raw = nullptr;              // RocksDB's API hands out an owning raw pointer
  rocksdb::Status s = rocksdb::DB::Open(options, dir.string(), &raw);
  std::unique_ptr<rocksdb::DB> db(raw);
  ALLUVIUM_RETURN_IF_ERROR(rocks::FromRocks(s, "open coordinator store " + dir.string()));
  return std::make_unique<KvStore>(std::move(db));
}

Status KvStore::Put(std::string_view key, std::string_view value) {
  rocksdb::WriteOptions options;
  options.sync = true;
  return rocks::FromRocks(db_->Put(options, key, value), "store put");
}

Result<std::string> KvStore::Get(std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
  if (s.IsNotFound()) return NotFound(fmt::format("no key '{}'", key));
  ALLUVIUM_RETURN_IF_ERROR(rocks::FromRocks(s, "store get"));
  return value;
}

Status KvStore::Delete(std::string_view key) {
  rocksdb::WriteOptions options;
  options.sync = true;
  return rocks::FromRocks(db_->Delete(options, key), "store delete");
}

Status KvStore::Scan(std::string_view prefix,
                     const std::function<bool(std::string_view, std::string_view)>& visit) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (!visit(it->key().ToStringView(), it->value().ToStringView())) break;
  }
  return rocks::FromRocks(it->status(), "store scan");
}

}  // namespace alluvium::coordinator
