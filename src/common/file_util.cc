#include "common/file_util.h"

#include <cerrno>
#include <fstream>
#include <sstream>

#include "common/status_mapping.h"

namespace alluvium {

Status WriteFileAtomically(const std::filesystem::path& path, std::string_view text) {
  const std::filesystem::path temp = path.string() + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << text;
    if (!out.flush()) return FromErrno(errno, "write " + temp.string());
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) return FromErrno(ec.value(), "rename " + temp.string());
  return OkStatus();
}

Result<std::string> ReadWholeFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return FromErrno(errno, "read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace alluvium
