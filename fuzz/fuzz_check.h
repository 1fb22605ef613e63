// What every fuzz target shares: FUZZ_CHECK, which stops the run (abort: libFuzzer saves the
// input as a crash) when a property of the parser under test does not hold, and helpers to read
// the input as text and to make a scratch directory. Single-threaded, like libFuzzer's loop.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include <fmt/format.h>

// Aborts with the property and a message when `cond` is false.
#define FUZZ_CHECK(cond, ...)                                                                 \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "%s:%d: property violated: %s\n  %s\n", __FILE__, __LINE__, #cond, \
                   fmt::format(__VA_ARGS__).c_str());                                         \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

namespace alluvium::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A fresh directory under $TMPDIR (or /tmp), removed when the process exits normally.
inline const std::string& ScratchDir() {
  // Never destroyed: the exit handler that removes the directory still needs the name.
  static const std::string* dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    auto* path = new std::string(std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                                 "/alluvium-fuzz-XXXXXX");
    if (mkdtemp(path->data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(*dir, ignored);
    });
    return path;
  }();
  return *dir;
}

}  // namespace alluvium::fuzz
