#include "common/cache_filter_policy.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/units.h"

namespace alluvium {
namespace {

using nlohmann::json;

Result<std::regex> CompileRegex(const json& value, const std::string& where) {
  if (!value.is_string()) {
    return InvalidArgument(
        fmt::format("{}: a regex must be a string, not {}", where, value.dump()));
  }
  const std::string pattern = value.get<std::string>();
  try {
    return std::regex(pattern, std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error& e) {
    return InvalidArgument(fmt::format("{}: bad regex \"{}\": {}", where, pattern, e.what()));
  }
}

Result<std::vector<std::regex>> RegexList(const json& value, const std::string& where) {
  if (!value.is_array()) {
    return InvalidArgument(
        fmt::format("{}: expected a list of regexes, like [\".*/tables/.*\"]", where));
  }
  std::vector<std::regex> out;
  for (size_t i = 0; i < value.size(); ++i) {
    ALLUVIUM_ASSIGN_OR_RETURN(auto re, CompileRegex(value[i], fmt::format("{}[{}]", where, i)));
    out.push_back(std::move(re));
  }
  return out;
}

Result<std::chrono::milliseconds> Age(const json& value, const std::string& where) {
  if (value.is_number_unsigned()) return std::chrono::milliseconds(value.get<uint64_t>());
  if (value.is_string()) {
    auto age = ParseDuration(value.get<std::string>());
    if (age.ok()) return *age;
  }
  return InvalidArgument(fmt::format(
      "{}: {} is not a duration (like \"10s\", \"5min\" or milliseconds)", where, value.dump()));
}

Result<CacheRuleType> DefaultType(const json& value, const std::string& where) {
  if (value == "immutable") return CacheRuleType::kImmutable;
  if (value == "skipCache") return CacheRuleType::kSkipCache;
  if (value == "maxAge") {
    return InvalidArgument(
        fmt::format("{}: maxAge needs an age; write a catch-all rule instead: \"maxAge\": "
                    "{{\".*\": \"10min\"}}",
                    where));
  }
  return InvalidArgument(fmt::format("{}: {} is not immutable or skipCache", where, value.dump()));
}

}  // namespace

std::string_view CacheRuleTypeName(CacheRuleType type) {
  switch (type) {
    case CacheRuleType::kImmutable:
      return "immutable";
    case CacheRuleType::kMaxAge:
      return "maxAge";
    case CacheRuleType::kSkipCache:
      return "skipCache";
  }
  return "?";
}

CacheRule CacheFilterPolicy::Section::Match(std::string_view uri) const {
  const auto matches = [uri](const std::regex& re) {
    return std::regex_match(uri.begin(), uri.end(), re);
  };
  if (std::any_of(skip_cache.begin(), skip_cache.end(), matches)) {
    return {.type = CacheRuleType::kSkipCache};
  }
  std::optional<std::chrono::milliseconds> shortest;
  for (const auto& [re, age] : max_age) {
    if (matches(re) && (!shortest || age < *shortest)) shortest = age;
  }
  if (shortest) return {.type = CacheRuleType::kMaxAge, .max_age = *shortest};
  if (std::any_of(immutable.begin(), immutable.end(), matches)) {
    return {.type = CacheRuleType::kImmutable};
  }
  return {.type = default_type};
}

Result<CacheFilterPolicy> CacheFilterPolicy::Parse(std::string_view json_text) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {
    return InvalidArgument(fmt::format("not valid JSON: {}", e.what()));
  }
  if (!root.is_object()) return InvalidArgument("expected a JSON object at the top level");

  const auto version = root.find("apiVersion");
  if (version == root.end()) return InvalidArgument("apiVersion is missing (expected 1)");
  if (*version != 1) {
    return InvalidArgument(fmt::format("apiVersion {} is not supported (only 1)", version->dump()));
  }

  CacheFilterPolicy policy;
  for (const auto& [key, value] : root.items()) {
    if (key == "apiVersion") continue;
    Section* section = key == "metadata" ? &policy.metadata_
                       : key == "data"   ? &policy.data_
                                         : nullptr;
    if (section == nullptr) {
      return InvalidArgument(fmt::format(
          "unknown key \"{}\" at the top level (expected apiVersion, metadata, data)", key));
    }
    if (!value.is_object()) return InvalidArgument(fmt::format("{}: expected an object", key));
    for (const auto& [field, rules] : value.items()) {
      const std::string where = key + "." + field;
      if (field == "immutable") {
        ALLUVIUM_ASSIGN_OR_RETURN(section->immutable, RegexList(rules, where));
      } else if (field == "skipCache") {
        ALLUVIUM_ASSIGN_OR_RETURN(section->skip_cache, RegexList(rules, where));
      } else if (field == "maxAge") {
        if (!rules.is_object()) {
          return InvalidArgument(fmt::format(
              "{}: expected an object of regex to age, like {{\".*/tables/.*\": \"10min\"}}",
              where));
        }
        for (const auto& [pattern, age] : rules.items()) {
          const std::string rule_where = fmt::format("{}[\"{}\"]", where, pattern);
          ALLUVIUM_ASSIGN_OR_RETURN(auto re, CompileRegex(json(pattern), rule_where));
          ALLUVIUM_ASSIGN_OR_RETURN(auto ms, Age(age, rule_where));
          section->max_age.emplace_back(std::move(re), ms);
        }
      } else if (field == "defaultType") {
        ALLUVIUM_ASSIGN_OR_RETURN(section->default_type, DefaultType(rules, where));
      } else {
        return InvalidArgument(fmt::format(
            "unknown key \"{}\" (expected immutable, skipCache, maxAge, defaultType)", where));
      }
    }
  }
  return policy;
}

}  // namespace alluvium
