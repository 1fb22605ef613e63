// How much slower the build under test runs than a plain one: for the few tests whose promise is
// a deadline (a stop ends within 2 s), which sanitizer builds keep only with a wider margin.
#pragma once

#include <chrono>

namespace alluvium::testing {

#if defined(__SANITIZE_THREAD__)
inline constexpr int kSanitizerSlowdown = 5;
#elif defined(__SANITIZE_ADDRESS__)
inline constexpr int kSanitizerSlowdown = 3;
#else
inline constexpr int kSanitizerSlowdown = 1;
#endif

// `deadline` as the build under test can keep it.
constexpr std::chrono::milliseconds ScaledDeadline(std::chrono::milliseconds deadline) {
  return deadline * kSanitizerSlowdown;
}

}  // namespace alluvium::testing
