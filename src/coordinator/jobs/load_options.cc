#include "coordinator/jobs/load_options.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <regex>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "common/decimal.h"
#include "common/units.h"

namespace alluvium::coordinator {
namespace {

using nlohmann::json;

constexpr uint32_t kMaxReplicas = 16;
constexpr uint32_t kMaxBatchSize = 100000;
// std::regex compiles by recursion, a level per group: a long enough pattern ("((((...") runs the
// compiling thread out of stack and takes the coordinator down. Real file filters are short.
constexpr size_t kMaxRegexBytes = 1024;
// libstdc++'s regex compiler reads a repeat count ("a{N}", "a{1,N}") or a back-reference ("\N")
// into a long without checking for overflow: 20 digits are undefined behaviour. No number that
// long can compile anyway (repeats beyond 100000 states and back-references past the last group
// are errors), so longer ones are refused before std::regex sees them.
constexpr size_t kMaxRegexNumberDigits = 9;
constexpr std::string_view kOptionNames[] = {
    "replicas",  "batchSize", "partialListing", "loadMetadataOnly", "skipIfExists",
    "bandwidth", "verify",    "fileFilterRegx", "allowEviction",    "dryRun"};

// The JSON spelling of a value for error messages; never throws (invalid UTF-8 is replaced).
std::string Show(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

Status BadOption(std::string_view name, const json& value, std::string_view why) {
  return InvalidArgument(fmt::format("invalid load option '{}': {} ({})", name, Show(value), why));
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A whole number: a native unsigned JSON integer or a string of decimal digits.
Result<uint64_t> ParseInteger(std::string_view name, const json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer()) return BadOption(name, value, "must not be negative");
  if (value.is_number_float()) return BadOption(name, value, "must be a whole number");
  const auto* text = value.get_ptr<const std::string*>();
  if (text == nullptr) return BadOption(name, value, "must be a number or a string");
  const std::optional<uint64_t> n = ParseDecimal<uint64_t>(Trim(*text));
  if (!n) return BadOption(name, value, "must be a whole number");
  return *n;
}

Result<uint32_t> ParseInRange(std::string_view name, const json& value, uint32_t max) {
  ALLUVIUM_ASSIGN_OR_RETURN(uint64_t n, ParseInteger(name, value));
  if (n < 1 || n > max) return BadOption(name, value, fmt::format("must be between 1 and {}", max));
  return static_cast<uint32_t>(n);
}

// Only true/false (any case): "1" or "yes" in a REST body is more likely a mistake than intent.
Result<bool> ParseStrictBool(std::string_view name, const json& value) {
  if (value.is_boolean()) return value.get<bool>();
  if (const auto* text = value.get_ptr<const std::string*>()) {
    std::string lower(Trim(*text));
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "true") return true;
    if (lower == "false") return false;
  }
  return BadOption(name, value, "must be true or false");
}

Result<uint64_t> ParseBandwidth(const json& value) {
  constexpr std::string_view kName = "bandwidth";
  uint64_t bytes = 0;
  if (value.is_number_unsigned()) {
    bytes = value.get<uint64_t>();
  } else if (value.is_number_integer()) {
    return BadOption(kName, value, "must be positive");
  } else if (value.is_number_float()) {
    return BadOption(kName, value, "must be a whole number of bytes per second");
  } else if (const auto* text = value.get_ptr<const std::string*>()) {
    auto parsed = ParseSize(*text);
    if (!parsed.ok()) {
      return BadOption(kName, value, "must be a size per second such as 10MB or 1048576");
    }
    bytes = *parsed;
  } else {
    return BadOption(kName, value, "must be a size string or a number");
  }
  if (bytes == 0) return BadOption(kName, value, "must be positive");
  return bytes;
}

// Whether a run of more than kMaxRegexNumberDigits digits follows '{', ',' or '\\'.
bool HasHugeRegexNumber(std::string_view pattern) {
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '{' && pattern[i] != ',' && pattern[i] != '\\') continue;
    size_t digits = 0;
    while (i + 1 + digits < pattern.size() &&
           std::isdigit(static_cast<unsigned char>(pattern[i + 1 + digits]))) {
      ++digits;
    }
    if (digits > kMaxRegexNumberDigits) return true;
  }
  return false;
}

Status CheckRegex(const std::string& pattern) {
  if (pattern.empty()) return OkStatus();
  if (pattern.size() > kMaxRegexBytes) {
    return InvalidArgument(
        fmt::format("invalid load option 'fileFilterRegx': longer than {} bytes", kMaxRegexBytes));
  }
  if (HasHugeRegexNumber(pattern)) {
    return InvalidArgument(fmt::format(
        "invalid load option 'fileFilterRegx': {} (a repeat count or back-reference of more "
        "than {} digits)",
        Show(json(pattern)), kMaxRegexNumberDigits));
  }
  try {
    std::regex re(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return InvalidArgument(fmt::format("invalid load option 'fileFilterRegx': {} ({})",
                                       Show(json(pattern)), e.what()));
  }
  return OkStatus();
}

}  // namespace

Status LoadOptions::Validate() const {
  if (replicas < 1 || replicas > kMaxReplicas) {
    return InvalidArgument(fmt::format(
        "invalid load option 'replicas': {} (must be between 1 and {})", replicas, kMaxReplicas));
  }
  if (batch_size < 1 || batch_size > kMaxBatchSize) {
    return InvalidArgument(
        fmt::format("invalid load option 'batchSize': {} (must be between 1 and {})", batch_size,
                    kMaxBatchSize));
  }
  if (bandwidth.has_value() && *bandwidth == 0) {
    return InvalidArgument("invalid load option 'bandwidth': 0 (must be positive)");
  }
  return CheckRegex(file_filter_regex);
}

Result<LoadOptions> ParseLoadOptions(const nlohmann::json& options) {
  LoadOptions out;
  if (options.is_null()) return out;  // no "options" in the request: all defaults
  if (!options.is_object()) {
    return InvalidArgument(
        fmt::format("load options must be a JSON object, not {}", options.type_name()));
  }
  for (const auto& [key, value] : options.items()) {
    if (std::find(std::begin(kOptionNames), std::end(kOptionNames), key) ==
        std::end(kOptionNames)) {
      return InvalidArgument(
          fmt::format("unknown load option '{}' (known: {})", key, fmt::join(kOptionNames, ", ")));
    }
    if (value.is_null()) continue;
    if (key == "replicas") {
      ALLUVIUM_ASSIGN_OR_RETURN(out.replicas, ParseInRange(key, value, kMaxReplicas));
    } else if (key == "batchSize") {
      ALLUVIUM_ASSIGN_OR_RETURN(out.batch_size, ParseInRange(key, value, kMaxBatchSize));
    } else if (key == "partialListing") {
      ALLUVIUM_ASSIGN_OR_RETURN(out.partial_listing, ParseStrictBool(key, value));
    } else if (key == "loadMetadataOnly") {
      ALLUVIUM_ASSIGN_OR_RETURN(out.metadata_only, ParseStrictBool(key, value));
    } else if (key == "skipIfExists") {
      ALLUVIUM_ASSIGN_OR_RETURN(out.skip_if_exists, ParseStrictBool(key, value));
    } else if (key == "verify") {
      ALLUVIUM_ASSIGN_OR_RETURN(out.verify, ParseStrictBool(key, value));
    } else if (key == "allowEviction") {
      ALLUVIUM_ASSIGN_OR_RETURN(out.allow_eviction, ParseStrictBool(key, value));
    } else if (key == "dryRun") {
      ALLUVIUM_ASSIGN_OR_RETURN(out.dry_run, ParseStrictBool(key, value));
    } else if (key == "bandwidth") {
      ALLUVIUM_ASSIGN_OR_RETURN(out.bandwidth, ParseBandwidth(value));
    } else if (key == "fileFilterRegx") {
      const auto* text = value.get_ptr<const std::string*>();
      if (text == nullptr) return BadOption(key, value, "must be a string");
      out.file_filter_regex = *text;
      ALLUVIUM_RETURN_IF_ERROR(CheckRegex(out.file_filter_regex));
    }
  }
  ALLUVIUM_RETURN_IF_ERROR(out.Validate());
  return out;
}

nlohmann::json LoadOptionsToJson(const LoadOptions& options) {
  json out = json::object();
  out["replicas"] = options.replicas;
  out["batchSize"] = options.batch_size;
  out["partialListing"] = options.partial_listing;
  out["loadMetadataOnly"] = options.metadata_only;
  out["skipIfExists"] = options.skip_if_exists;
  out["verify"] = options.verify;
  out["allowEviction"] = options.allow_eviction;
  if (options.bandwidth.has_value()) out["bandwidth"] = *options.bandwidth;
  if (!options.file_filter_regex.empty()) out["fileFilterRegx"] = options.file_filter_regex;
  return out;
}

}  // namespace alluvium::coordinator
