#include "proto/read_chunk_wire.h"

#include <array>

#include <fmt/format.h>

namespace alluvium::rpc {
namespace {

// Field tags of ReadChunk: (field number << 3) | wire type (0 varint, 2 length-delimited).
constexpr uint8_t kOffsetTag = (1 << 3) | 0;
constexpr uint8_t kDataTag = (2 << 3) | 2;
constexpr uint8_t kSourceTag = (3 << 3) | 0;
constexpr uint8_t kStatusTag = (4 << 3) | 2;

constexpr size_t kMaxVarint = 10;

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Reads a message that may be split over many slices, as gRPC hands it over.
class SliceCursor {
 public:
  explicit SliceCursor(const std::vector<grpc::Slice>& slices) : slices_(slices) { SkipEmpty(); }

  bool done() const { return slice_ == slices_.size(); }

  bool ReadByte(uint8_t* b) {
    if (done()) return false;
    *b = slices_[slice_].begin()[pos_];
    Advance(1);
    return true;
  }

  bool ReadVarint(uint64_t* v) {
    *v = 0;
    for (size_t i = 0; i < kMaxVarint; ++i) {
      uint8_t b = 0;
      if (!ReadByte(&b)) return false;
      *v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }

  // The next n bytes as spans into the slices; false if fewer remain.
  bool Take(uint64_t n, std::vector<std::span<const std::byte>>* parts) {
    while (n > 0) {
      if (done()) return false;
      const grpc::Slice& s = slices_[slice_];
      const size_t here = std::min<uint64_t>(n, s.size() - pos_);
      if (parts != nullptr) {
        parts->emplace_back(reinterpret_cast<const std::byte*>(s.begin() + pos_), here);
      }
      Advance(here);
      n -= here;
    }
    return true;
  }

 private:
  void Advance(size_t n) {
    pos_ += n;
    if (pos_ == slices_[slice_].size()) {
      ++slice_;
      pos_ = 0;
      SkipEmpty();
    }
  }
  void SkipEmpty() {
    while (slice_ < slices_.size() && slices_[slice_].size() == 0) ++slice_;
  }

  const std::vector<grpc::Slice>& slices_;
  size_t slice_ = 0;
  size_t pos_ = 0;
};

Status Malformed(std::string_view what) {
  return DataLoss(fmt::format("malformed ReadChunk: {}", what));
}

}  // namespace

grpc::ByteBuffer EncodeReadChunk(uint64_t offset, const grpc::Slice& data, PageSource source,
                                 const FileStatus* status) {
  // proto3 leaves out fields at their default value; so do we, to stay byte-identical.
  std::string head;
  if (offset != 0) {
    head.push_back(static_cast<char>(kOffsetTag));
    PutVarint(head, offset);
  }
  if (data.size() != 0) {
    head.push_back(static_cast<char>(kDataTag));
    PutVarint(head, data.size());
  }
  std::string tail;
  if (source != PAGE_SOURCE_CACHE) {
    tail.push_back(static_cast<char>(kSourceTag));
    PutVarint(tail, static_cast<uint64_t>(static_cast<int64_t>(source)));
  }
  if (status != nullptr) {
    tail.push_back(static_cast<char>(kStatusTag));
    PutVarint(tail, status->ByteSizeLong());
    status->AppendToString(&tail);
  }
  std::array<grpc::Slice, 3> slices;
  size_t n = 0;
  if (!head.empty()) slices[n++] = grpc::Slice(head);
  if (data.size() != 0) slices[n++] = data;
  if (!tail.empty()) slices[n++] = grpc::Slice(tail);
  return grpc::ByteBuffer(slices.data(), n);
}

Result<ReadChunkView> DecodeReadChunk(const grpc::ByteBuffer& message) {
  ReadChunkView view;
  if (!message.Dump(&view.slices).ok()) return Malformed("cannot read the message");
  SliceCursor in(view.slices);
  while (!in.done()) {
    uint64_t tag = 0;
    if (!in.ReadVarint(&tag)) return Malformed("truncated tag");
    const uint64_t field = tag >> 3;
    const uint64_t wire_type = tag & 7;
    uint64_t value = 0;
    switch (wire_type) {
      case 0:  // varint
        if (!in.ReadVarint(&value)) return Malformed("truncated varint");
        if (field == 1) view.offset = value;
        if (field == 3) view.source = static_cast<PageSource>(static_cast<int>(value));
        break;
      case 1:  // 64-bit
        if (!in.Take(8, nullptr)) return Malformed("truncated fixed64");
        break;
      case 5:  // 32-bit
        if (!in.Take(4, nullptr)) return Malformed("truncated fixed32");
        break;
      case 2: {  // length-delimited
        if (!in.ReadVarint(&value)) return Malformed("truncated length");
        std::vector<std::span<const std::byte>> parts;
        if (!in.Take(value, &parts)) return Malformed("truncated field");
        if (field == 2) {  // a repeated singular field: the last one wins, as in protobuf
          view.data = std::move(parts);
          view.data_size = value;
        } else if (field == 4) {  // small, first chunk only: parsed from a copy
          std::string bytes;
          bytes.reserve(value);
          for (auto part : parts)
            bytes.append(reinterpret_cast<const char*>(part.data()), part.size());
          FileStatus status;
          if (!status.ParseFromString(bytes)) return Malformed("bad status");
          view.status = std::move(status);
        }
        break;
      }
      default:
        return Malformed(fmt::format("wire type {}", wire_type));
    }
  }
  return view;
}

}  // namespace alluvium::rpc
