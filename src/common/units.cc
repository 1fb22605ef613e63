#include "common/units.h"

#include <algorithm>

#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

namespace alluvium {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits "12.5GB" into 12.5 and "gb" (and "12.5", the number's text). false if no number leads.
bool SplitNumber(std::string_view text, double& number, std::string& unit,
                 std::string_view* number_text = nullptr) {
  text = Trim(text);
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  if (i == 0) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, number);
  if (ec != std::errc() || ptr != text.data() + i) return false;
  unit = Lower(Trim(text.substr(i)));
  if (number_text != nullptr) *number_text = text.substr(0, i);
  return true;
}

}  // namespace

Result<uint64_t> ParseSize(std::string_view text) {
  double number = 0;
  std::string unit;
  std::string_view number_text;
  if (!SplitNumber(text, number, unit, &number_text)) {
    return InvalidArgument(fmt::format("'{}' is not a size (examples: 1048576, 64KB, 10MB)", text));
  }
  if (unit.ends_with("ib")) unit.erase(unit.size() - 2, 1);                    // "mib" -> "mb"
  if (unit.size() == 2 && unit.back() == 'b' && unit != "b") unit.pop_back();  // "mb" -> "m"
  static constexpr std::string_view kUnits = "bkmgtp";
  size_t power = 0;
  if (unit.empty()) {
    power = 0;
  } else if (unit.size() == 1 && kUnits.find(unit[0]) != std::string_view::npos) {
    power = kUnits.find(unit[0]);
  } else {
    return InvalidArgument(fmt::format("'{}' has an unknown size unit '{}'", text, unit));
  }
  // Whole numbers are exact: a double holds integers only up to 2^53.
  uint64_t whole = 0;
  const char* number_end = number_text.data() + number_text.size();
  if (auto [end, ec] = std::from_chars(number_text.data(), number_end, whole);
      ec == std::errc() && end == number_end) {
    const uint64_t scale = uint64_t{1} << (10 * power);
    if (whole > UINT64_MAX / scale) {
      return InvalidArgument(fmt::format("size '{}' is too large", text));
    }
    return whole * scale;
  }
  const double bytes = number * std::pow(1024.0, static_cast<double>(power));
  if (!std::isfinite(bytes) || bytes >= 18446744073709551615.0) {
    return InvalidArgument(fmt::format("size '{}' is too large", text));
  }
  return static_cast<uint64_t>(bytes);
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  double number = 0;
  std::string unit;
  if (!SplitNumber(text, number, unit)) {
    return InvalidArgument(
        fmt::format("'{}' is not a duration (examples: 500ms, 10s, 5min)", text));
  }
  double ms_per_unit = 0;
  if (unit.empty() || unit == "ms") {
    ms_per_unit = 1;
  } else if (unit == "s" || unit == "sec") {
    ms_per_unit = 1e3;
  } else if (unit == "m" || unit == "min") {
    ms_per_unit = 60e3;
  } else if (unit == "h" || unit == "hr") {
    ms_per_unit = 3600e3;
  } else if (unit == "d" || unit == "day") {
    ms_per_unit = 86400e3;
  } else {
    return InvalidArgument(fmt::format("'{}' has an unknown duration unit '{}'", text, unit));
  }
  const double ms = number * ms_per_unit;
  if (!std::isfinite(ms) || ms > 1e15)
    return InvalidArgument(fmt::format("'{}' is too long", text));
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

std::string FormatSize(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KB", "MB", "GB", "TB", "PB"};
  if (bytes <= 5 * 1024) return fmt::format("{}B", bytes);
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value > 5 * 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.2f}{}", value, kUnits[unit]);
}

std::string FormatMiB(uint64_t bytes) {
  if (bytes == 0) return "0 MiB";
  return fmt::format("{:.1f} MiB", std::max(0.1, static_cast<double>(bytes) / (1 << 20)));
}

Result<bool> ParseBool(std::string_view text) {
  const std::string v = Lower(Trim(text));
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return InvalidArgument(fmt::format("'{}' is not a boolean (true or false)", text));
}

}  // namespace alluvium
