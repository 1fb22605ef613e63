// ReadAhead against fake streams: order, how many streams are open ahead, closing them when the
// read stops, end of file, and that nothing received outlives Run.
#include "client/read_ahead.h"

#include <algorithm>
#include <string>

#include <gtest/gtest.h>

namespace alluvium::client {
namespace {

constexpr uint64_t kPart = 100;

std::vector<Part> PartsOf(uint64_t size) {
  std::vector<Part> parts;
  for (uint64_t p = 0; p < size; p += kPart) parts.push_back({p, std::min(size, p + kPart)});
  return parts;
}

// The byte at file offset i.
std::byte ByteAt(uint64_t i) { return static_cast<std::byte>((i * 7 + 3) % 251); }

// What the fake streams did.
struct Ledger {
  int open = 0;  // streams alive
  int max_open = 0;
  int closed_undrained = 0;
  int buffers = 0;                 // chunk buffers alive
  std::vector<int> open_at_drain;  // streams alive when each Drain began
};

// A chunk of [begin, end) in two pieces, its bytes owned by a buffer counted in the ledger.
Chunk MakeChunk(uint64_t begin, uint64_t end, Ledger& ledger) {
  struct Buffer {
    std::vector<std::byte> bytes;
    Ledger* ledger;
    ~Buffer() { --ledger->buffers; }
  };
  auto buffer = std::make_shared<Buffer>();
  buffer->ledger = &ledger;
  ++ledger.buffers;
  for (uint64_t i = begin; i < end; ++i) buffer->bytes.push_back(ByteAt(i));
  const std::span<const std::byte> all(buffer->bytes);
  const size_t half = all.size() / 2;
  return {.data = {all.first(half), all.subspan(half)}, .size = end - begin, .owner = buffer};
}

// Emits [part.begin, end) in chunks of 30 bytes, then returns `result`.
class FakeStream : public ReadAhead::Stream {
 public:
  FakeStream(const Part& part, Ledger& ledger, uint64_t end, Status result)
      : part_(part), ledger_(ledger), end_(end), result_(std::move(result)) {
    ledger_.max_open = std::max(ledger_.max_open, ++ledger_.open);
  }
  ~FakeStream() override {
    --ledger_.open;
    if (!drained_) ++ledger_.closed_undrained;
  }
  Status Drain(const ReadAhead::Emit& emit) override {
    drained_ = true;
    ledger_.open_at_drain.push_back(ledger_.open);
    for (uint64_t p = part_.begin; p < end_; p += 30) {
      Status st = emit(MakeChunk(p, std::min(end_, p + 30), ledger_));
      if (!st.ok()) return st;
    }
    return result_;
  }

 private:
  const Part part_;
  Ledger& ledger_;
  const uint64_t end_;
  const Status result_;
  bool drained_ = false;
};

ReadAhead::Open WholeParts(Ledger& ledger) {
  return [&ledger](const Part& part) {
    return std::make_unique<FakeStream>(part, ledger, part.end, OkStatus());
  };
}

struct Collected {
  std::vector<std::byte> bytes;
  Status operator()(const Chunk& chunk) {
    for (auto piece : chunk.data) bytes.insert(bytes.end(), piece.begin(), piece.end());
    return OkStatus();
  }
  bool IsFileFrom0(uint64_t size) const {
    if (bytes.size() != size) return false;
    for (uint64_t i = 0; i < size; ++i) {
      if (bytes[i] != ByteAt(i)) return false;
    }
    return true;
  }
};

TEST(ReadAheadTest, DeliversEveryByteInOrder) {
  Ledger ledger;
  Collected out;
  auto consumed = ReadAhead::Run(PartsOf(450), 3, WholeParts(ledger), std::ref(out));
  ASSERT_TRUE(consumed.ok()) << consumed.status();
  EXPECT_EQ(*consumed, 450u);
  EXPECT_TRUE(out.IsFileFrom0(450));
  EXPECT_EQ(ledger.open, 0);
  EXPECT_EQ(ledger.buffers, 0);
}

TEST(ReadAheadTest, TheNextPartsAreOpenedBeforeTheCurrentOneIsReadUpToTheWindow) {
  Ledger ledger;
  Collected out;
  auto consumed = ReadAhead::Run(PartsOf(1000), 3, WholeParts(ledger), std::ref(out));
  ASSERT_TRUE(consumed.ok()) << consumed.status();
  EXPECT_TRUE(out.IsFileFrom0(1000));
  EXPECT_EQ(ledger.max_open, 3);
  // Ten parts, three open at a time: the current one and two ahead, fewer near the end.
  EXPECT_EQ(ledger.open_at_drain, (std::vector<int>{3, 3, 3, 3, 3, 3, 3, 3, 2, 1}));
}

TEST(ReadAheadTest, WithoutAWindowOnePartIsOpenAtATime) {
  for (size_t in_flight : {0, 1}) {
    Ledger ledger;
    Collected out;
    auto consumed = ReadAhead::Run(PartsOf(1000), in_flight, WholeParts(ledger), std::ref(out));
    ASSERT_TRUE(consumed.ok()) << consumed.status();
    EXPECT_TRUE(out.IsFileFrom0(1000));
    EXPECT_EQ(ledger.max_open, 1) << in_flight;
  }
}

TEST(ReadAheadTest, AConsumerErrorClosesTheStreamsOpenedAheadAndFreesTheirBytes) {
  Ledger ledger;
  uint64_t consumed_bytes = 0;
  auto consumed = ReadAhead::Run(PartsOf(1000), 4, WholeParts(ledger), [&](const Chunk& chunk) {
    consumed_bytes += chunk.size;
    return consumed_bytes > 150 ? ResourceExhausted("sink full") : OkStatus();
  });
  EXPECT_EQ(consumed.status().code(), Code::kResourceExhausted);
  EXPECT_EQ(ledger.open, 0);
  EXPECT_EQ(ledger.closed_undrained, 3) << "parts 2 to 4 were open ahead, never read";
  EXPECT_EQ(ledger.open_at_drain.size(), 2u) << "no part after the failure was read";
  EXPECT_EQ(ledger.buffers, 0);
}

TEST(ReadAheadTest, TheFirstFailedPartFailsTheReadAfterEarlierPartsAreDelivered) {
  Ledger ledger;
  Collected out;
  auto consumed = ReadAhead::Run(
      PartsOf(800), 4,
      [&](const Part& part) -> std::unique_ptr<ReadAhead::Stream> {
        if (part.begin == 3 * kPart) {
          return std::make_unique<FakeStream>(part, ledger, part.begin + 50, DataLoss("bad page"));
        }
        return std::make_unique<FakeStream>(part, ledger, part.end, OkStatus());
      },
      std::ref(out));
  EXPECT_EQ(consumed.status().code(), Code::kDataLoss);
  EXPECT_TRUE(out.IsFileFrom0(3 * kPart + 50));
  EXPECT_EQ(ledger.open, 0);
}

TEST(ReadAheadTest, AShortPartIsTheEndOfTheFile) {
  Ledger ledger;
  Collected out;
  auto consumed = ReadAhead::Run(
      PartsOf(1000), 3,
      [&](const Part& part) -> std::unique_ptr<ReadAhead::Stream> {
        const uint64_t end = part.begin == 3 * kPart  ? part.begin + 42
                             : part.begin > 3 * kPart ? part.begin
                                                      : part.end;
        return std::make_unique<FakeStream>(part, ledger, end, OkStatus());
      },
      std::ref(out));
  ASSERT_TRUE(consumed.ok()) << consumed.status();
  EXPECT_EQ(*consumed, 3 * kPart + 42);
  EXPECT_TRUE(out.IsFileFrom0(3 * kPart + 42));
  EXPECT_EQ(ledger.open_at_drain.size(), 4u) << "nothing read after the end of the file";
  EXPECT_EQ(ledger.open, 0);
}

}  // namespace
}  // namespace alluvium::client
