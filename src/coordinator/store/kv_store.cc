#include "coordinator/store/kv_store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

namespace alluvium::coordinator {
namespace {

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return OkStatus();
  std::string message = fmt::format("{}: {}", what, s.ToString());
  if (s.IsNotFound()) return NotFound(std::move(message));
  if (s.IsCorruption()) return DataLoss(std::move(message));
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return FailedPrecondition(message + " (is another coordinator using this data dir?)");
  }
  return InternalError(std::move(message));
}

}  // namespace

KvStore::KvStore(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}

KvStore::~KvStore() = default;

Result<std::unique_ptr<KvStore>> KvStore::Open(const std::filesystem::path& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.max_open_files = 256;
  options.keep_log_file_num = 2;
  rocksdb::DB* raw = nullptr;  // RocksDB's API hands out an owning raw pointer
  rocksdb::Status s = rocksdb::DB::Open(options, dir.string(), &raw);
  std::unique_ptr<rocksdb::DB> db(raw);
  ALLUVIUM_RETURN_IF_ERROR(FromRocks(s, "open coordinator store " + dir.string()));
  return std::make_unique<KvStore>(std::move(db));
}

Status KvStore::Put(std::string_view key, std::string_view value) {
  rocksdb::WriteOptions options;
  options.sync = true;
  return FromRocks(db_->Put(options, key, value), "store put");
}

Result<std::string> KvStore::Get(std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
  if (s.IsNotFound()) return NotFound(fmt::format("no key '{}'", key));
  ALLUVIUM_RETURN_IF_ERROR(FromRocks(s, "store get"));
  return value;
}

Status KvStore::Delete(std::string_view key) {
  rocksdb::WriteOptions options;
  options.sync = true;
  return FromRocks(db_->Delete(options, key), "store delete");
}

Status KvStore::Scan(std::string_view prefix,
                     const std::function<bool(std::string_view, std::string_view)>& visit) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (!visit(it->key().ToStringView(), it->value().ToStringView())) break;
  }
  return FromRocks(it->status(), "store scan");
}

}  // namespace alluvium::coordinator
