// A ufs::FileSystem decorator for worker tests: forwards to a real file system, counts the calls
// that reach it, and can slow reads down so that concurrent callers overlap. Counters are atomic,
// so tests may read them while other threads use the file system.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <span>
#include <string_view>
#include <thread>
#include <utility>

#include "common/status.h"
#include "ufs/ufs.h"

namespace alluvium::worker::testing {

class CountingFileSystem final : public ufs::FileSystem {
 public:
  explicit CountingFileSystem(std::unique_ptr<ufs::FileSystem> inner) : inner_(std::move(inner)) {}

  std::string_view scheme() const override { return inner_->scheme(); }

  Result<ufs::FileStatus> GetStatus(std::string_view uri) override {
    get_status_calls.fetch_add(1);
    return inner_->GetStatus(uri);
  }

  Result<std::unique_ptr<ufs::ListIterator>> List(std::string_view uri,
                                                  const ufs::ListOptions& options) override {
    return inner_->List(uri, options);
  }

  using ufs::FileSystem::Open;
  Result<std::unique_ptr<ufs::FileReader>> Open(std::string_view uri,
                                                const ufs::OpenOptions& options) override {
    open_calls.fetch_add(1);
    ALLUVIUM_ASSIGN_OR_RETURN(auto reader, inner_->Open(uri, options));
    return std::unique_ptr<ufs::FileReader>(std::make_unique<Reader>(*this, std::move(reader)));
  }

  // Each ReadAt sleeps this long before reading. May change while the file system is in use.
  void set_read_delay(std::chrono::milliseconds delay) {
    read_delay_ms_ = static_cast<int>(delay.count());
  }

  std::atomic<int> get_status_calls{0};
  std::atomic<int> open_calls{0};
  std::atomic<int> read_calls{0};

 private:
  class Reader final : public ufs::FileReader {
   public:
    Reader(CountingFileSystem& fs, std::unique_ptr<ufs::FileReader> inner)
        : fs_(fs), inner_(std::move(inner)) {}

    Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) override {
      fs_.read_calls.fetch_add(1);
      if (const int ms = fs_.read_delay_ms_.load(); ms > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      }
      return inner_->ReadAt(offset, out);
    }

   private:
    CountingFileSystem& fs_;
    std::unique_ptr<ufs::FileReader> inner_;
  };

  const std::unique_ptr<ufs::FileSystem> inner_;
  std::atomic<int> read_delay_ms_{0};
};

}  // namespace alluvium::worker::testing
