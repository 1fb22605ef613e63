// The coordinator's embedded, durable key-value store (RocksDB): mount table now, jobs and their
// progress later. Writes are synced, because they are rare and must survive a crash. Safe for
// concurrent use.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace rocksdb {
class DB;
}

namespace alluvium::coordinator {

class KvStore {
 public:
  static Result<std::unique_ptr<KvStore>> Open(const std::filesystem::path& dir);
  ~KvStore();

  Status Put(std::string_view key, std::string_view value);
  Result<std::string> Get(std::string_view key) const;  // kNotFound if absent
  Status Delete(std::string_view key);
  // Calls visit(key, value) for every key starting with prefix, in key order, until it returns
  // false.
  Status Scan(std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& visit) const;

  explicit KvStore(std::unique_ptr<rocksdb::DB> db);

 private:
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace alluvium::coordinator
