// Whole numbers written in decimal, as they arrive in headers, XML answers, config values and
// file names.
#pragma once

#include <charconv>
#include <concepts>
#include <optional>
#include <string_view>

namespace alluvium {

// The value of `digits` when it is entirely decimal digits (no sign, space or other character)
// and fits T; nullopt otherwise. std::from_chars alone would stop at the first stray character
// and, for a signed T, take a minus sign.
template <std::integral T>
std::optional<T> ParseDecimal(std::string_view digits) {
  if (digits.empty() || digits.front() < '0' || digits.front() > '9') return std::nullopt;
  T value{};
  const char* end = digits.data() + digits.size();
  const auto [stop, ec] = std::from_chars(digits.data(), end, value);
  if (ec != std::errc() || stop != end) return std::nullopt;
  return value;
}

}  // namespace alluvium
