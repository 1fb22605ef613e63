// Fuzzes the size, duration and boolean parsers of config files, flags and REST options, and the
// size formatter of progress reports.
//
// Properties:
// - A parse error is kInvalidArgument; nothing throws or aborts.
// - A plain decimal integer that fits in 64 bits parses as a size to exactly that value.
// - A parsed size, printed as a decimal integer, parses to the same value.
// - FormatSize then ParseSize gives back the value: exactly up to 5 KiB (printed in bytes),
//   within the 2-decimal rounding (0.1%) above.
// - A parsed duration, printed in milliseconds, parses to the same duration.
// - A parsed boolean, printed as true/false, parses to the same boolean.
#include <charconv>
#include <cstring>

#include "common/units.h"
#include "fuzz_check.h"

namespace {

using alluvium::Code;
using alluvium::FormatSize;
using alluvium::ParseBool;
using alluvium::ParseDuration;
using alluvium::ParseSize;

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

void CheckFormatRoundTrip(uint64_t bytes) {
  const std::string text = FormatSize(bytes);
  auto parsed = ParseSize(text);
  if (bytes <= 5 * 1024) {
    FUZZ_CHECK(parsed.ok() && *parsed == bytes, "{} formats as '{}', parses as {}", bytes, text,
               parsed.ok() ? std::to_string(*parsed) : parsed.status().ToString());
    return;
  }
  // "16384.00PB" is 2^64, one more than the largest size: only values that round up to it fail.
  if (!parsed.ok()) {
    FUZZ_CHECK(bytes > UINT64_MAX - UINT64_MAX / 1000, "{} formats as '{}', which fails: {}", bytes,
               text, parsed.status());
    return;
  }
  const uint64_t diff = *parsed > bytes ? *parsed - bytes : bytes - *parsed;
  FUZZ_CHECK(diff <= bytes / 1000 + 1, "{} formats as '{}', parses as {}", bytes, text, *parsed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = alluvium::fuzz::AsText(data, size);

  auto bytes = ParseSize(text);
  if (bytes.ok()) {
    const std::string decimal = std::to_string(*bytes);
    auto again = ParseSize(decimal);
    FUZZ_CHECK(again.ok() && *again == *bytes, "'{}' -> {} -> '{}' -> {}", text, *bytes, decimal,
               again.ok() ? std::to_string(*again) : again.status().ToString());
    CheckFormatRoundTrip(*bytes);
  } else {
    FUZZ_CHECK(bytes.status().code() == Code::kInvalidArgument, "{}", bytes.status());
  }
  const std::string_view digits = TrimSpace(text);
  uint64_t exact = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), exact);
  if (!digits.empty() && ec == std::errc() && end == digits.data() + digits.size()) {
    FUZZ_CHECK(bytes.ok() && *bytes == exact, "'{}' parses as {}, not {}", text,
               bytes.ok() ? std::to_string(*bytes) : bytes.status().ToString(), exact);
  }

  // The input's first 8 bytes as a byte count, for the formatter.
  uint64_t raw = 0;
  std::memcpy(&raw, data, std::min(size, sizeof raw));
  CheckFormatRoundTrip(raw);
  CheckFormatRoundTrip(raw >> (raw & 63));  // small values too

  auto duration = ParseDuration(text);
  if (duration.ok()) {
    FUZZ_CHECK(duration->count() >= 0, "'{}' is a negative duration", text);
    const std::string ms = fmt::format("{}ms", duration->count());
    auto again = ParseDuration(ms);
    FUZZ_CHECK(again.ok() && *again == *duration, "'{}' -> '{}' -> {}", text, ms,
               again.ok() ? std::to_string(again->count()) : again.status().ToString());
  } else {
    FUZZ_CHECK(duration.status().code() == Code::kInvalidArgument, "{}", duration.status());
  }

  auto flag = ParseBool(text);
  if (flag.ok()) {
    auto again = ParseBool(*flag ? "true" : "false");
    FUZZ_CHECK(again.ok() && *again == *flag, "'{}' is not stable", text);
  } else {
    FUZZ_CHECK(flag.status().code() == Code::kInvalidArgument, "{}", flag.status());
  }
  return 0;
}
