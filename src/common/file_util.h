// Small whole-file helpers for state files (ports, ids, PIDs).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"

namespace alluvium {

// Writes `text` to path via a temp file and rename, so readers never see half a file.
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view text);

// The whole file; kNotFound if missing.
Result<std::string> ReadWholeFile(const std::filesystem::path& path);

}  // namespace alluvium
