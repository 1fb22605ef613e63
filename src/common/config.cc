#include "common/config.h"

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "common/secrets.h"
#include "common/units.h"

namespace alluvium {
namespace {

const KeyInfo* FindKey(std::string_view name) {
  for (const KeyInfo* key : AllKeys()) {
    if (key->name == name) return key;
  }
  return nullptr;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

Status ParseAssignment(std::string_view line, std::string_view& key, std::string_view& value) {
  const size_t eq = line.find('=');
  if (eq == std::string_view::npos) return InvalidArgument("expected key=value");
  key = Trim(line.substr(0, eq));
  value = Trim(line.substr(eq + 1));
  if (key.empty()) return InvalidArgument("empty key");
  return OkStatus();
}

// "-D key=value" naming a bad override in its error, a secret's value masked: messages reach
// terminals and logs.
std::string OverrideContext(std::string_view override) {
  const size_t eq = override.find('=');
  if (eq == std::string_view::npos) return fmt::format("-D {}", MaskedValue(override, override));
  return fmt::format("-D {}={}", override.substr(0, eq),
                     MaskedValue(Trim(override.substr(0, eq)), override.substr(eq + 1)));
}

}  // namespace

std::string ExpandHome(std::string_view path) {
  if (path == "~" || path.starts_with("~/")) {
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "/root") + std::string(path.substr(1));
  }
  return std::string(path);
}

Status ValidateValue(const KeyInfo& key, std::string_view value) {
  Status st;
  switch (key.type) {
    case KeyType::kString:
      return OkStatus();
    case KeyType::kInt: {
      char* end = nullptr;
      const std::string text(value);
      errno = 0;
      std::strtoll(text.c_str(), &end, 10);
      // end is compared with the string's end, not NUL: "12\0junk" is not an integer.
      if (text.empty() || end != text.c_str() + text.size() || errno != 0) {
        st = InvalidArgument("not an integer");
      }
      break;
    }
    case KeyType::kBool:
      st = ParseBool(value).status();
      break;
    case KeyType::kSize:
      st = ParseSize(value).status();
      break;
    case KeyType::kDuration:
      st = ParseDuration(value).status();
      break;
    case KeyType::kDouble: {
      char* end = nullptr;
      const std::string text(value);
      const double v = std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v)) {
        st = InvalidArgument("not a number");
      }
      break;
    }
  }
  if (st.ok()) return st;
  return InvalidArgument(
      fmt::format("{}: bad value '{}': {}", key.name, MaskedValue(key.name, value), st.message()));
}

Config Config::Defaults() {
  Config config;
  for (const KeyInfo* key : AllKeys()) {
    config.values_[std::string(key->name)] = Value{std::string(key->default_value), "default"};
  }
  return config;
}

Status Config::Set(std::string_view key, std::string_view value, std::string_view source) {
  const KeyInfo* info = FindKey(key);
  if (info == nullptr) {
    return InvalidArgument(
        fmt::format("unknown configuration key '{}' (from {}); "
                    "`alluvium conf defaults` lists every key",
                    key, source));
  }
  ALLUVIUM_RETURN_IF_ERROR(ValidateValue(*info, value));
  values_[std::string(key)] = Value{std::string(value), source};
  return OkStatus();
}

Result<Config> Config::Load(const ConfigSources& sources) {
  Config config = Defaults();
  std::string file = sources.file;
  if (file.empty() && sources.read_environment) {
    if (const char* env = std::getenv("ALLUVIUM_CONF")) file = env;
  }
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) return NotFound(fmt::format("cannot open configuration file '{}'", file));
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      std::string_view text = Trim(line);
      if (text.empty() || text.front() == '#') continue;
      std::string_view key, value;
      Status st = ParseAssignment(text, key, value);
      if (st.ok()) st = config.Set(key, value, "file");
      if (!st.ok()) return st.WithContext(fmt::format("{}:{}", file, number));
    }
  }
  if (sources.read_environment) {
    for (const KeyInfo* key : AllKeys()) {
      if (const char* env = std::getenv(EnvNameOf(key->name).c_str())) {
        ALLUVIUM_RETURN_IF_ERROR(config.Set(key->name, env, "env"));
      }
    }
  }
  for (const std::string& override : sources.overrides) {
    std::string_view key, value;
    Status st = ParseAssignment(override, key, value);
    if (st.ok()) st = config.Set(key, value, "flag");
    if (!st.ok()) return st.WithContext(OverrideContext(override));
  }
  return config;
}

Result<Config> Config::With(std::string_view key, std::string_view value) const {
  Config copy = *this;
  ALLUVIUM_RETURN_IF_ERROR(copy.Set(key, value, "flag"));
  return copy;
}

const Config::Value& Config::Get(const KeyInfo& key) const {
  auto it = values_.find(key.name);
  ALLUVIUM_CHECK(it != values_.end());  // every key has a default
  return it->second;
}

std::string Config::GetString(const KeyInfo& key) const { return Get(key).text; }

std::map<std::string, std::string> Config::ValuesWithPrefix(std::string_view prefix) const {
  std::map<std::string, std::string> out;
  for (const KeyInfo* key : AllKeys()) {
    if (!key->name.starts_with(prefix)) continue;
    if (std::string value = GetString(*key); !value.empty())
      out.emplace(key->name, std::move(value));
  }
  return out;
}

int64_t Config::GetInt(const KeyInfo& key) const {
  return std::strtoll(Get(key).text.c_str(), nullptr, 10);
}

bool Config::GetBool(const KeyInfo& key) const { return ParseBool(Get(key).text).value(); }

uint64_t Config::GetSize(const KeyInfo& key) const { return ParseSize(Get(key).text).value(); }

double Config::GetDouble(const KeyInfo& key) const {
  return std::strtod(Get(key).text.c_str(), nullptr);
}

std::chrono::milliseconds Config::GetDuration(const KeyInfo& key) const {
  return ParseDuration(Get(key).text).value();
}

std::string Config::GetPath(const KeyInfo& key) const { return ExpandHome(Get(key).text); }

std::string_view Config::SourceOf(const KeyInfo& key) const { return Get(key).source; }

}  // namespace alluvium
