// Fuzzes ParseLoadOptions, which reads the "options" object of submit_job/load requests and of
// stored job records. The input is JSON text (inputs that are not JSON are skipped: the REST
// fuzzer covers those).
//
// Properties:
// - No exception escapes (nlohmann throws on wrong types: the parser must check first) and
//   nothing aborts or overflows the stack, even with the fuzzed regex nested 100000 groups deep
//   (a REST body can be that big); a refused object is kInvalidArgument naming the option.
// - Parsed options validate, and their stored form (LoadOptionsToJson), serialised and parsed
//   again, gives the same options.
#include <nlohmann/json.hpp>

#include "coordinator/jobs/load_options.h"
#include "fuzz_check.h"

namespace {

using alluvium::Code;
using alluvium::coordinator::LoadOptions;
using alluvium::coordinator::LoadOptionsToJson;
using alluvium::coordinator::ParseLoadOptions;
using nlohmann::json;

constexpr size_t kDeep = 100000;  // groups around a fuzzed pattern: 200 KB of parentheses

std::string Show(const LoadOptions& o) {
  return LoadOptionsToJson(o).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const json options = json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (options.is_discarded()) return 0;
  if (options.is_object() && options.contains("fileFilterRegx") &&
      options["fileFilterRegx"].is_string()) {
    // A REST body may hold 1 MiB, more than -max_len: nest the pattern that deep, as a request
    // could. It must be refused or compile, never exhaust the stack.
    json deep = options;
    deep["fileFilterRegx"] = std::string(kDeep, '(') +
                             options["fileFilterRegx"].get<std::string>() + std::string(kDeep, ')');
    auto parsed = ParseLoadOptions(deep);
    FUZZ_CHECK(parsed.ok() || parsed.status().code() == Code::kInvalidArgument, "{}",
               parsed.status());
  }
  auto parsed = ParseLoadOptions(options);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == Code::kInvalidArgument, "{}", parsed.status());
    FUZZ_CHECK(parsed.status().message().find("option") != std::string::npos,
               "message names no option: {}", parsed.status());
    return 0;
  }
  alluvium::Status valid = parsed->Validate();
  FUZZ_CHECK(valid.ok(), "parsed options do not validate: {}", valid);

  const std::string stored =
      LoadOptionsToJson(*parsed).dump(-1, ' ', false, json::error_handler_t::strict);
  const json reread = json::parse(stored, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!reread.is_discarded(), "stored form is not JSON: {}", stored);
  auto again = ParseLoadOptions(reread);
  FUZZ_CHECK(again.ok(), "stored form {} does not parse: {}", stored, again.status());
  FUZZ_CHECK(*again == *parsed, "{} parsed back as {}", Show(*parsed), Show(*again));
  return 0;
}
