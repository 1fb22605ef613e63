#include "coordinator/mounts/mount_manager.h"

#include <nlohmann/json.hpp>

#include "common/logging.h"
#include "common/paths.h"
#include "common/secrets.h"

namespace alluvium::coordinator {
namespace {

constexpr std::string_view kPrefix = "mount/";

std::string Encode(const mounts::Mount& m) {
  nlohmann::json j = {{"path", m.path}, {"ufs_uri", m.ufs_uri}, {"options", m.options}};
  return j.dump();
}

Result<mounts::Mount> Decode(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("path") || !j["path"].is_string() ||
      !j.contains("ufs_uri") || !j["ufs_uri"].is_string()) {
    // Not quoted: the record holds the mount's credentials.
    return DataLoss(fmt::format("corrupt mount record ({} bytes)", text.size()));
  }
  mounts::Mount m;
  m.path = j["path"].get<std::string>();
  m.ufs_uri = j["ufs_uri"].get<std::string>();
  if (j.contains("options") && j["options"].is_object()) {
    for (const auto& [k, v] : j["options"].items()) {
      if (v.is_string()) m.options[k] = v.get<std::string>();
    }
  }
  return m;
}

}  // namespace

Result<std::unique_ptr<MountManager>> MountManager::Open(KvStore& store, std::string_view root_uri,
                                                         std::string_view extra_mounts) {
  auto manager = std::make_unique<MountManager>(store);
  auto table = std::make_shared<mounts::MountTable>();
  Status decode_status;
  ALLUVIUM_RETURN_IF_ERROR(store.Scan(kPrefix, [&](std::string_view key, std::string_view value) {
    auto mount = Decode(value);
    if (mount.ok())
      decode_status = table->Add(std::move(*mount));
    else
      decode_status = mount.status().WithContext(key);
    return decode_status.ok();
  }));
  ALLUVIUM_RETURN_IF_ERROR(decode_status);
  manager->table_ = table;

  if (!table->Resolve("/").ok() && !root_uri.empty()) {
    ALLUVIUM_RETURN_IF_ERROR(
        manager->Mount({.path = "/", .ufs_uri = std::string(root_uri)}).WithContext("root mount"));
  }
  size_t pos = 0;
  while (pos < extra_mounts.size()) {
    size_t comma = extra_mounts.find(',', pos);
    if (comma == std::string_view::npos) comma = extra_mounts.size();
    std::string_view item = extra_mounts.substr(pos, comma - pos);
    pos = comma + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return InvalidArgument(fmt::format("mount '{}' is not /path=uri", item));
    }
    Status st = manager->Mount(
        {.path = std::string(item.substr(0, eq)), .ufs_uri = std::string(item.substr(eq + 1))});
    if (!st.ok() && st.code() != Code::kAlreadyExists) return st;
  }
  return manager;
}

Status MountManager::Mount(mounts::Mount mount) {
  std::lock_guard lock(mu_);
  auto next = std::make_shared<mounts::MountTable>(*table_);
  ALLUVIUM_RETURN_IF_ERROR(next->Add(mount));
  ALLUVIUM_ASSIGN_OR_RETURN(mounts::Resolved added, next->Resolve(mount.path));
  ALLUVIUM_RETURN_IF_ERROR(
      store_.Put(std::string(kPrefix) + added.mount->path, Encode(*added.mount)));
  ALLUVIUM_LOG(INFO, "mounted {} at {} with options ({})", added.mount->ufs_uri, added.mount->path,
               FormatMasked(added.mount->options));
  table_ = std::move(next);
  return OkStatus();
}

Status MountManager::Unmount(std::string_view path) {
  std::lock_guard lock(mu_);
  auto next = std::make_shared<mounts::MountTable>(*table_);
  ALLUVIUM_RETURN_IF_ERROR(next->Remove(path));
  ALLUVIUM_ASSIGN_OR_RETURN(std::string normal, NormalizePath(path));
  ALLUVIUM_RETURN_IF_ERROR(store_.Delete(std::string(kPrefix) + normal));
  ALLUVIUM_LOG(INFO, "unmounted {}", normal);
  table_ = std::move(next);
  return OkStatus();
}

std::shared_ptr<const mounts::MountTable> MountManager::Snapshot() const {
  std::lock_guard lock(mu_);
  return table_;
}

}  // namespace alluvium::coordinator
