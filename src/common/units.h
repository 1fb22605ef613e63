// Sizes and durations as people write them in config files, flags and REST options, and sizes
// as Alluxio prints them in progress reports. Pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace alluvium {

// "1048576", "64KB", "1MB", "1MiB", "1.5GB", "10m" -> bytes. Units are 1024-based as in Alluxio
// (KB = KiB); case-insensitive; B/K/M/G/T/P with optional "B"/"iB". kInvalidArgument otherwise,
// including negative values and overflow.
Result<uint64_t> ParseSize(std::string_view text);

// "500ms", "10s", "5min", "2h", "7d", "1000" (milliseconds) -> duration.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// Alluxio's FormatUtils.getSizeFromBytes: 1024-based, moves to the next unit while the value is
// above 5 x 1024; "%dB" for bytes, otherwise "%.2fKB" / MB / GB / TB / PB. 131072000 -> "125.00MB".
std::string FormatSize(uint64_t bytes);

// Capacities and shares in one unit, so they compare at a glance: "412.0 MiB" (one decimal;
// "0.1 MiB" and up, "0 MiB" for nothing). 432013312 -> "412.0 MiB".
std::string FormatMiB(uint64_t bytes);

// "true"/"false" (any case), "1"/"0", "yes"/"no".
Result<bool> ParseBool(std::string_view text);

}  // namespace alluvium
