// Fuzzes LoadJobRecord::FromJson, which reads load jobs back from the coordinator's store at
// startup: a damaged record must be dropped with an error, not take the coordinator down. The
// input is JSON text (inputs that are not JSON are skipped, as JobManager::Open skips them).
//
// Properties:
// - No exception escapes and nothing aborts (no undefined behaviour either: a float or negative
//   number where a counter belongs is refused, not converted); a refused record is kDataLoss,
//   or kInvalidArgument from its options.
// - A record that loads, stored again (ToJson) and loaded, gives the same stored form.
#include <nlohmann/json.hpp>

#include "coordinator/jobs/load_job_record.h"
#include "fuzz_check.h"

namespace {

using alluvium::Code;
using alluvium::coordinator::LoadJobRecord;
using nlohmann::json;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const json stored = json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (stored.is_discarded()) return 0;
  auto record = LoadJobRecord::FromJson(stored);
  if (!record.ok()) {
    const Code code = record.status().code();
    FUZZ_CHECK(code == Code::kDataLoss || code == Code::kInvalidArgument, "{}", record.status());
    return 0;
  }
  const json first = record->ToJson();
  const std::string text = first.dump(-1, ' ', false, json::error_handler_t::replace);
  auto again = LoadJobRecord::FromJson(json::parse(text, nullptr, /*allow_exceptions=*/false));
  FUZZ_CHECK(again.ok(), "stored form {} does not load: {}", text, again.status());
  const json second = again->ToJson();
  FUZZ_CHECK(second == first, "stored form changed:\n  {}\n  {}", text,
             second.dump(-1, ' ', false, json::error_handler_t::replace));
  return 0;
}
