// Waits for a condition instead of sleeping for a guessed time.
#pragma once

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

namespace alluvium::testing {

template <typename Pred>
::testing::AssertionResult Eventually(Pred done, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) {
      return ::testing::AssertionFailure() << "timed out";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return ::testing::AssertionSuccess();
}

}  // namespace alluvium::testing
