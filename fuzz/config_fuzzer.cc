// Fuzzes the properties-file parser (Config::Load) and, through it, the typed value checks
// (integers, booleans, sizes, durations, doubles).
//
// Properties:
// - Load never throws and never aborts; a file that does not load is kInvalidArgument.
// - A loaded config answers every typed getter for every key (the getters cannot fail, so
//   whatever Load accepted must parse again), and no typed value holds a NUL byte (the getter
//   would read only the part before it).
// - Rendering the loaded values as "key=value" lines and loading that gives the same values.
#include <fstream>

#include "common/config.h"
#include "fuzz_check.h"

namespace {

using alluvium::Code;
using alluvium::Config;
using alluvium::KeyInfo;
using alluvium::KeyType;

std::string WriteFile(const std::string& name, std::string_view text) {
  const std::string path = alluvium::fuzz::ScratchDir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  FUZZ_CHECK(out.good(), "cannot write {}", path);
  return path;
}

// Calls the getter of the key's type; each aborts on a value it cannot read.
void ReadTyped(const Config& config, const KeyInfo& key) {
  switch (key.type) {
    case KeyType::kString:
      (void)config.GetString(key);
      (void)config.GetPath(key);
      break;
    case KeyType::kInt:
      (void)config.GetInt(key);
      break;
    case KeyType::kBool:
      (void)config.GetBool(key);
      break;
    case KeyType::kSize:
      (void)config.GetSize(key);
      break;
    case KeyType::kDuration:
      (void)config.GetDuration(key);
      break;
    case KeyType::kDouble:
      (void)config.GetDouble(key);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = alluvium::fuzz::AsText(data, size);
  const std::string file = WriteFile("input.properties", text);
  auto config = Config::Load({.file = file, .read_environment = false});
  if (!config.ok()) {
    FUZZ_CHECK(config.status().code() == Code::kInvalidArgument, "load failed with {}",
               config.status());
    return 0;
  }

  std::string rendered;
  for (const KeyInfo* key : alluvium::AllKeys()) {
    ReadTyped(*config, *key);
    // No typed value holds a NUL: what the getter reads is the whole value.
    FUZZ_CHECK(
        key->type == KeyType::kString || config->GetString(*key).find('\0') == std::string::npos,
        "{} accepted a value with a NUL byte", key->name);
    const std::string_view source = config->SourceOf(*key);
    FUZZ_CHECK(source == "default" || source == "file", "{} has source {}", key->name, source);
    if (source == "file") rendered += fmt::format("{}={}\n", key->name, config->GetString(*key));
  }

  const std::string again_file = WriteFile("rendered.properties", rendered);
  auto again = Config::Load({.file = again_file, .read_environment = false});
  FUZZ_CHECK(again.ok(), "rendered config does not load: {}\n{}", again.status(), rendered);
  for (const KeyInfo* key : alluvium::AllKeys()) {
    FUZZ_CHECK(again->GetString(*key) == config->GetString(*key) &&
                   again->SourceOf(*key) == config->SourceOf(*key),
               "{}: '{}' ({}) rendered and loaded as '{}' ({})", key->name, config->GetString(*key),
               config->SourceOf(*key), again->GetString(*key), again->SourceOf(*key));
  }
  return 0;
}
