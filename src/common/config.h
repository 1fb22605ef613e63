// The effective configuration of one process: defaults, then the properties file, then
// environment variables (ALLUVIUM_WORKER_RPC_PORT for alluvium.worker.rpc.port), then flags
// (-D key=value). Every value is checked against its key's type when loaded, so getters cannot
// fail. Immutable after Load; safe to share between threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/config_keys.h"
#include "common/status.h"

namespace alluvium {

struct ConfigSources {
  // Properties file ("key=value" lines, '#' comments). Empty: $ALLUVIUM_CONF if set, else none.
  std::string file;
  std::vector<std::string> overrides;  // "key=value", highest precedence
  bool read_environment = true;
};

class Config {
 public:
  // kInvalidArgument for an unknown key, a malformed line or a value of the wrong type (the
  // message names the key and where it came from); kNotFound for a missing explicit file.
  static Result<Config> Load(const ConfigSources& sources);
  // Defaults only: for tests and tools.
  static Config Defaults();

  std::string GetString(const KeyInfo& key) const;
  int64_t GetInt(const KeyInfo& key) const;
  bool GetBool(const KeyInfo& key) const;
  uint64_t GetSize(const KeyInfo& key) const;
  double GetDouble(const KeyInfo& key) const;
  std::chrono::milliseconds GetDuration(const KeyInfo& key) const;
  // GetString with a leading "~/" expanded to $HOME.
  std::string GetPath(const KeyInfo& key) const;

  // The non-empty values of every key starting with `prefix`, keyed by name: settings passed on
  // as a group ("alluvium.underfs." to open an under file system).
  std::map<std::string, std::string> ValuesWithPrefix(std::string_view prefix) const;

  // Where the value came from: "default", "file", "env" or "flag".
  std::string_view SourceOf(const KeyInfo& key) const;

  // Returns a copy with one more override applied (same checks as Load).
  Result<Config> With(std::string_view key, std::string_view value) const;

 private:
  struct Value {
    std::string text;
    std::string_view source;
  };
  Status Set(std::string_view key, std::string_view value, std::string_view source);
  const Value& Get(const KeyInfo& key) const;

  std::map<std::string, Value, std::less<>> values_;
};

// Checks `value` against the key's type; the message names the key.
Status ValidateValue(const KeyInfo& key, std::string_view value);

// Expands a leading "~/" to $HOME.
std::string ExpandHome(std::string_view path);

}  // namespace alluvium
