#include "proto/read_chunk_wire.h"

#include <string>

#include <gtest/gtest.h>

namespace alluvium::rpc {
namespace {

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string out;
  for (const grpc::Slice& s : slices)
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

std::string Joined(const ReadChunkView& view) {
  std::string out;
  for (auto part : view.data) out.append(reinterpret_cast<const char*>(part.data()), part.size());
  return out;
}

// A message cut into slices of `piece` bytes, as a receiver may get it off the socket.
grpc::ByteBuffer Split(const std::string& bytes, size_t piece) {
  std::vector<grpc::Slice> slices;
  for (size_t i = 0; i < bytes.size(); i += piece) {
    slices.emplace_back(bytes.data() + i, std::min(piece, bytes.size() - i));
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

FileStatus SomeStatus() {
  FileStatus status;
  status.set_uri("file:///srv/data/x.bin");
  status.set_length(123456789);
  status.set_mtime_ms(1700000000000);
  status.set_version("v7");
  return status;
}

TEST(ReadChunkWireTest, EncodingIsWhatProtobufSerializes) {
  const std::string data(300'000, 'x');
  const FileStatus status = SomeStatus();
  struct Case {
    uint64_t offset;
    std::string data;
    PageSource source;
    const FileStatus* status;
  };
  for (const Case& c :
       {Case{0, data, PAGE_SOURCE_CACHE, nullptr}, Case{1ull << 40, data, PAGE_SOURCE_UFS, &status},
        Case{4096, "", PAGE_SOURCE_CACHE, &status}, Case{0, "", PAGE_SOURCE_CACHE, nullptr},
        Case{77, "abc", PAGE_SOURCE_UFS, nullptr}}) {
    ReadChunk expected;
    expected.set_offset(c.offset);
    expected.set_data(c.data);
    expected.set_source(c.source);
    if (c.status != nullptr) *expected.mutable_status() = *c.status;
    const grpc::ByteBuffer encoded =
        EncodeReadChunk(c.offset, grpc::Slice(c.data), c.source, c.status);
    EXPECT_EQ(Flatten(encoded), expected.SerializeAsString()) << "offset " << c.offset;
  }
}

TEST(ReadChunkWireTest, DecodesAMessageSplitAnywhere) {
  ReadChunk chunk;
  chunk.set_offset(3ull << 30);
  chunk.set_data(std::string(70'000, 'd') + "end");
  chunk.set_source(PAGE_SOURCE_UFS);
  *chunk.mutable_status() = SomeStatus();
  const std::string bytes = chunk.SerializeAsString();
  for (size_t piece : {size_t{1}, size_t{2}, size_t{7}, size_t{4096}, bytes.size()}) {
    auto view = DecodeReadChunk(Split(bytes, piece));
    ASSERT_TRUE(view.ok()) << view.status();
    EXPECT_EQ(view->offset, chunk.offset());
    EXPECT_EQ(view->source, PAGE_SOURCE_UFS);
    EXPECT_EQ(view->data_size, chunk.data().size());
    EXPECT_EQ(Joined(*view), chunk.data()) << "slices of " << piece;
    ASSERT_TRUE(view->status.has_value());
    EXPECT_EQ(view->status->SerializeAsString(), chunk.status().SerializeAsString());
  }
}

TEST(ReadChunkWireTest, DataStaysValidAfterTheViewIsMoved) {
  // Short slices keep their bytes inside the slice object: spans must survive a move of the view.
  const grpc::ByteBuffer encoded =
      EncodeReadChunk(5, grpc::Slice(std::string("tiny")), PAGE_SOURCE_CACHE, nullptr);
  auto view = DecodeReadChunk(Split(Flatten(encoded), 3));
  ASSERT_TRUE(view.ok()) << view.status();
  ReadChunkView moved = std::move(*view);
  EXPECT_EQ(Joined(moved), "tiny");
  EXPECT_EQ(moved.offset, 5u);
}

TEST(ReadChunkWireTest, FieldsOutOfOrderAndUnknownOnesAreRead) {
  ReadChunk chunk;
  chunk.set_data("payload");
  chunk.set_offset(9);
  // Unknown field 15 (fixed64) first, then data, then offset: a parser must not care.
  std::string bytes =
      std::string("\x79", 1) + std::string(8, '\0') + std::string("\x12\x07payload") + "\x08\x09";
  ReadChunk parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));  // what protobuf makes of it
  auto view = DecodeReadChunk(Split(bytes, 2));
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->offset, parsed.offset());
  EXPECT_EQ(Joined(*view), parsed.data());
  EXPECT_FALSE(view->status.has_value());
}

TEST(ReadChunkWireTest, TruncatedOrGarbageIsDataLoss) {
  ReadChunk chunk;
  chunk.set_offset(1);
  chunk.set_data(std::string(1000, 'z'));
  const std::string bytes = chunk.SerializeAsString();
  EXPECT_EQ(DecodeReadChunk(Split(bytes.substr(0, bytes.size() - 1), 100)).status().code(),
            Code::kDataLoss);
  EXPECT_EQ(DecodeReadChunk(Split(std::string("\x0b\x00", 2), 1)).status().code(), Code::kDataLoss);
  EXPECT_EQ(DecodeReadChunk(Split(std::string(11, '\xff'), 4)).status().code(), Code::kDataLoss);
}

}  // namespace
}  // namespace alluvium::rpc
