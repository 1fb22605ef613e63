#include "client/read_ahead.h"

#include <algorithm>
#include <deque>

namespace alluvium::client {

Result<uint64_t> ReadAhead::Run(std::span<const Part> parts, size_t parts_in_flight,
                                const Open& open, const Consume& consume) {
  const size_t in_flight = std::max<size_t>(parts_in_flight, 1);
  std::deque<std::unique_ptr<Stream>> opened;  // parts [current, next); closed on return
  size_t next = 0;
  uint64_t consumed = 0;
  for (size_t current = 0; current < parts.size(); ++current) {
    while (next < parts.size() && next < current + in_flight) opened.push_back(open(parts[next++]));
    std::unique_ptr<Stream> stream = std::move(opened.front());
    opened.pop_front();
    uint64_t received = 0;
    Status consume_status;
    Status st = stream->Drain([&](Chunk chunk) -> Status {
      consume_status = consume(chunk);
      if (!consume_status.ok()) return consume_status;
      received += chunk.size;
      return OkStatus();
    });
    consumed += received;
    if (!consume_status.ok()) return consume_status;
    if (!st.ok()) return st;
    if (received < parts[current].end - parts[current].begin) break;  // the file ended here
  }
  return consumed;
}

}  // namespace alluvium::client
