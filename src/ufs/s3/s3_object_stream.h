// One object range read by one GET in a thread of its own, handed out in blocks: the reader
// stores block k while block k+1 arrives, and the server streams on as curl does instead of
// answering one ranged GET per block (on s3rver, each request costs the server CPU on top of
// the bytes it sends). At most `max_ready` blocks wait, so memory is bounded and a slow reader
// slows the server through TCP.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "ufs/s3/s3_client.h"

namespace alluvium::ufs::s3 {

class S3ObjectStream {
 public:
  struct Block {
    uint64_t offset = 0;  // in the object
    std::vector<std::byte> bytes;
  };

  // Starts the GET of [offset, offset + length) of `key`, at version `if_match` (if set).
  S3ObjectStream(std::shared_ptr<S3Client> client, std::string bucket, std::string key,
                 std::string if_match, uint64_t offset, uint64_t length, size_t block_size,
                 size_t max_ready = 1);
  ~S3ObjectStream();  // stops the transfer and joins its thread
  S3ObjectStream(const S3ObjectStream&) = delete;
  S3ObjectStream& operator=(const S3ObjectStream&) = delete;

  // The next block, in order (each `block_size` bytes but the last); std::nullopt after the
  // last. A failed transfer's error comes after the blocks received before it.
  Result<std::optional<Block>> Next();

  // After Next() gave std::nullopt: whether the object ended before the range did.
  bool object_ended() const { return object_ended_; }

  // Hands back the bytes of a block the reader is done with, to receive a later block into:
  // a fresh multi-megabyte buffer per block cost page faults and zeroing of new memory on every
  // block (a tenth of a worker's CPU on large objects).
  void Recycle(std::vector<std::byte> bytes);

 private:
  void Run(const std::string& if_match, uint64_t offset, uint64_t length);
  bool Push(Block block);  // false once closing
  // A recycled buffer, or a new one: empty, with block_size_ reserved.
  std::vector<std::byte> SpareBuffer();

  const std::shared_ptr<S3Client> client_;
  const std::string bucket_;
  const std::string key_;
  const size_t block_size_;
  const size_t max_ready_;

  Mutex mu_;
  std::condition_variable_any cv_;
  std::deque<Block> ready_ GUARDED_BY(mu_);
  bool done_ GUARDED_BY(mu_) = false;     // the transfer ended
  bool closing_ GUARDED_BY(mu_) = false;  // the reader is gone
  Status error_ GUARDED_BY(mu_);
  std::vector<std::vector<std::byte>> spares_ GUARDED_BY(mu_);  // recycled buffers
  bool object_ended_ = false;                                   // set with done_, read after it

  std::thread thread_;  // last: started after every member above exists
};

}  // namespace alluvium::ufs::s3
